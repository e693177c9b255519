package desired

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

var (
	fineTarget = TargetOutcome{Name: "posthog-web", Containers: []string{"web"}}
	notFound   = &Problem{Reason: proxyv1.ReasonTargetNotFound,
		Message: "Deployment analytics/posthog-web does not exist; create it or fix spec.targets"}
	claimed = &Problem{Reason: proxyv1.ReasonTargetClaimed,
		Message: "Deployment posthog-web is already patched by PostHogProxy posthog-eu; one Deployment takes its proxy settings from one PostHogProxy"}
	invalidAddress = &Problem{Reason: proxyv1.ReasonInvalidSpec,
		Message: `spec.trustedProxies.addresses: "10.0.0.0/8" is not an IP address`}
	timeout = errors.New("etcdserver: request timed out")
)

const (
	readyMessage   = "PostHog's proxy settings, trusted proxy list and Ingress are applied"
	ingressMessage = "Ingress posthog (all) matches the spec"
	envMessage     = "proxy settings applied to Deployment posthog-web (container web)"
	listMessage    = "2 trusted proxies published in ConfigMap posthog-trusted-proxies (static: 2)"
)

// testNow is the time of every outcome built here.
var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func trustAll(p *proxyv1.PostHogProxy) {
	p.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}
}

// outcomeFor is the outcome with the list the proxy's spec asks for and its
// rollout plan, as the controller builds them.
func outcomeFor(t *testing.T, proxy *proxyv1.PostHogProxy, out Outcome) Outcome {
	t.Helper()
	out.Now = testNow
	out.Proxies = TrustedProxyList(proxy, ProxyInputs{Now: testNow})
	if out.Proxies.Blocked != nil {
		t.Fatalf("the test proxy's list is blocked: %s", out.Proxies.Blocked.Message)
	}
	out.Plan = PlanRollout(proxy, out.Proxies.List.Hash(), testNow)
	if out.Ingress == nil {
		out.Ingresses = IngressPlans(proxy, hostStrings(proxy))
	}
	return out
}

// publishedStatus is the status record of a freshly published list.
func publishedStatus(count int32, value string) *proxyv1.TrustedProxiesStatus {
	return &proxyv1.TrustedProxiesStatus{
		ConfigMapName: "posthog-trusted-proxies", Count: count, Hash: sha256Of(value),
		Sources:   []proxyv1.SourceStatus{{Name: "static", Count: count}},
		ChangedAt: ptrTime(testNow), RolledHash: sha256Of(value),
	}
}

type wantCondition struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func TestStatus(t *testing.T) {
	listStatus := publishedStatus(2, "10.0.0.7,10.0.0.8")
	fineStatus := []proxyv1.TargetStatus{{Name: "posthog-web", Containers: []string{"web"}}}
	tests := []struct {
		name   string
		modify func(*proxyv1.PostHogProxy)
		out    Outcome
		// want are exactly the conditions on the status.
		want               map[string]wantCondition
		wantTrustedProxies *proxyv1.TrustedProxiesStatus
		wantTargets        []proxyv1.TargetStatus
	}{
		{
			name: "everything applied",
			out:  Outcome{Targets: []TargetOutcome{fineTarget}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionTrue, proxyv1.ReasonEnvApplied, envMessage},
				proxyv1.ConditionReady:               {metav1.ConditionTrue, proxyv1.ReasonReconciled, readyMessage},
			},
			wantTrustedProxies: listStatus,
			wantTargets:        fineStatus,
		},
		{
			name: "several targets applied",
			out: Outcome{Targets: []TargetOutcome{fineTarget,
				{Name: "posthog-canary", Containers: []string{"web", "web-debug"}}}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady: {metav1.ConditionTrue, proxyv1.ReasonEnvApplied,
					"proxy settings applied to Deployment posthog-web (container web); Deployment posthog-canary (containers web, web-debug)"},
				proxyv1.ConditionReady: {metav1.ConditionTrue, proxyv1.ReasonReconciled, readyMessage},
			},
			wantTrustedProxies: listStatus,
			wantTargets: []proxyv1.TargetStatus{
				{Name: "posthog-web", Containers: []string{"web"}},
				{Name: "posthog-canary", Containers: []string{"web", "web-debug"}},
			},
		},
		{
			// Trusting every proxy works, so Ready stays True; the warning
			// is a condition of its own.
			name:   "trust all proxies",
			modify: trustAll,
			out:    Outcome{Targets: []TargetOutcome{fineTarget}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady:   {metav1.ConditionTrue, proxyv1.ReasonTrustAllProxies, "every proxy is trusted (TRUST_ALL_PROXIES)"},
				proxyv1.ConditionIngressReady:          {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:          {metav1.ConditionTrue, proxyv1.ReasonEnvApplied, envMessage},
				proxyv1.ConditionReady:                 {metav1.ConditionTrue, proxyv1.ReasonReconciled, readyMessage},
				proxyv1.ConditionInsecureConfiguration: {metav1.ConditionTrue, proxyv1.ReasonTrustAllProxies, ""},
			},
			wantTrustedProxies: publishedStatus(0, ""),
			wantTargets:        fineStatus,
		},
		{
			name: "target needs a person",
			out:  Outcome{Targets: []TargetOutcome{{Name: "posthog-web", Problem: notFound}}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionFalse, proxyv1.ReasonTargetNotFound, notFound.Message},
				proxyv1.ConditionReady:               {metav1.ConditionFalse, proxyv1.ReasonTargetNotFound, "TargetsReady: " + notFound.Message},
				proxyv1.ConditionStalled:             {metav1.ConditionTrue, proxyv1.ReasonTargetNotFound, notFound.Message},
			},
			wantTrustedProxies: listStatus,
		},
		{
			name: "ConfigMap write failed",
			out:  Outcome{TrustedProxies: timeout, Targets: []TargetOutcome{fineTarget}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionFalse, proxyv1.ReasonApplyFailed, "ConfigMap posthog-trusted-proxies: etcdserver: request timed out"},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionTrue, proxyv1.ReasonEnvApplied, envMessage},
				proxyv1.ConditionReady:               {metav1.ConditionFalse, proxyv1.ReasonApplyFailed, "TrustedProxiesReady: ConfigMap posthog-trusted-proxies: etcdserver: request timed out"},
				proxyv1.ConditionReconciling:         {metav1.ConditionTrue, proxyv1.ReasonApplyFailed, "retrying after: etcdserver: request timed out"},
			},
			wantTargets: fineStatus,
		},
		{
			name: "Ingress write failed",
			out:  Outcome{Ingress: timeout, Targets: []TargetOutcome{fineTarget}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionFalse, proxyv1.ReasonApplyFailed, "Ingress posthog: etcdserver: request timed out"},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionTrue, proxyv1.ReasonEnvApplied, envMessage},
				proxyv1.ConditionReady:               {metav1.ConditionFalse, proxyv1.ReasonApplyFailed, "IngressReady: Ingress posthog: etcdserver: request timed out"},
				proxyv1.ConditionReconciling:         {metav1.ConditionTrue, proxyv1.ReasonApplyFailed, "retrying after: etcdserver: request timed out"},
			},
			wantTrustedProxies: listStatus,
			wantTargets:        fineStatus,
		},
		{
			// The problem's reason wins over the failed call listed first:
			// retrying alone will not fix it.
			name: "failed call on one target, a problem on another",
			out: Outcome{Targets: []TargetOutcome{
				{Name: "posthog-canary", Err: timeout},
				{Name: "posthog-web", Problem: claimed},
			}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady: {metav1.ConditionFalse, proxyv1.ReasonTargetClaimed,
					"Deployment posthog-canary: etcdserver: request timed out; " + claimed.Message},
				proxyv1.ConditionReady: {metav1.ConditionFalse, proxyv1.ReasonTargetClaimed,
					"TargetsReady: Deployment posthog-canary: etcdserver: request timed out; " + claimed.Message},
				proxyv1.ConditionStalled:     {metav1.ConditionTrue, proxyv1.ReasonTargetClaimed, claimed.Message},
				proxyv1.ConditionReconciling: {metav1.ConditionTrue, proxyv1.ReasonApplyFailed, "retrying after: etcdserver: request timed out"},
			},
			wantTrustedProxies: listStatus,
		},
		{
			name: "HTTP probes without Host header",
			out: Outcome{Targets: []TargetOutcome{fineTarget},
				ProbeRisks: []string{"posthog-web/web/livenessProbe", "posthog-web/web/readinessProbe"}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionTrue, proxyv1.ReasonListPublished, listMessage},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionTrue, proxyv1.ReasonEnvApplied, envMessage},
				proxyv1.ConditionReady:               {metav1.ConditionTrue, proxyv1.ReasonReconciled, readyMessage},
				proxyv1.ConditionProbeHostRisk: {metav1.ConditionTrue, proxyv1.ReasonProbesWithoutHostHeader,
					"ALLOWED_HOSTS is posthog.example.com but these HTTP probes (Deployment/container/probe) send the pod IP as Host, which PostHog may refuse: " +
						"posthog-web/web/livenessProbe, posthog-web/web/readinessProbe; " +
						"give each probe the header \"Host: posthog.example.com\" (httpGet.httpHeaders), or set spec.allowedHosts to Unmanaged"},
			},
			wantTrustedProxies: listStatus,
			wantTargets:        fineStatus,
		},
		{
			name: "list blocked by an invalid spec: targets held back",
			out: Outcome{TrustedProxies: invalidAddress, Targets: []TargetOutcome{{Name: "posthog-web",
				Problem: &Problem{Reason: proxyv1.ReasonInvalidSpec, Message: "held back"}}}},
			want: map[string]wantCondition{
				proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionFalse, proxyv1.ReasonInvalidSpec, invalidAddress.Message},
				proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
				proxyv1.ConditionTargetsReady:        {metav1.ConditionFalse, proxyv1.ReasonInvalidSpec, "held back"},
				proxyv1.ConditionReady:               {metav1.ConditionFalse, proxyv1.ReasonInvalidSpec, "TrustedProxiesReady: " + invalidAddress.Message},
				proxyv1.ConditionStalled:             {metav1.ConditionTrue, proxyv1.ReasonInvalidSpec, invalidAddress.Message},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.modify != nil {
				tt.modify(proxy)
			}

			got := Status(proxy, outcomeFor(t, proxy, tt.out))

			if got.ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d, want 3", got.ObservedGeneration)
			}
			if got.URL != "https://posthog.example.com" {
				t.Errorf("url = %q, want https://posthog.example.com", got.URL)
			}
			if !equality.Semantic.DeepEqual(got.TrustedProxies, tt.wantTrustedProxies) {
				t.Errorf("trustedProxies = %+v, want %+v", got.TrustedProxies, tt.wantTrustedProxies)
			}
			if !equality.Semantic.DeepEqual(got.Targets, tt.wantTargets) {
				t.Errorf("targets = %+v, want %+v", got.Targets, tt.wantTargets)
			}
			assertConditions(t, got, 3, tt.want)
		})
	}
}

func assertConditions(t *testing.T, st proxyv1.PostHogProxyStatus, generation int64, want map[string]wantCondition) {
	t.Helper()
	var types []string
	for _, c := range st.Conditions {
		types = append(types, c.Type)
		w, ok := want[c.Type]
		if !ok {
			t.Errorf("unexpected condition %s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message)
			continue
		}
		if c.Status != w.status || c.Reason != w.reason {
			t.Errorf("%s = %s/%s, want %s/%s", c.Type, c.Status, c.Reason, w.status, w.reason)
		}
		// An empty expected message leaves a long, fixed text unchecked.
		if w.message != "" && c.Message != w.message {
			t.Errorf("%s message = %q, want %q", c.Type, c.Message, w.message)
		}
		if c.ObservedGeneration != generation {
			t.Errorf("%s observedGeneration = %d, want %d", c.Type, c.ObservedGeneration, generation)
		}
		if c.LastTransitionTime.IsZero() {
			t.Errorf("%s has no lastTransitionTime", c.Type)
		}
	}
	wantTypes := slices.Sorted(maps.Keys(want))
	slices.Sort(types)
	if !slices.Equal(types, wantTypes) {
		t.Errorf("condition types = %v, want %v", types, wantTypes)
	}
}

// TestStatusUnchangedOutcome: fed its own result, as read back from the API
// server, Status must return it unchanged, or the controller would write
// the status on every reconcile.
func TestStatusUnchangedOutcome(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*proxyv1.PostHogProxy)
		out    Outcome
	}{
		{name: "everything applied", out: Outcome{Targets: []TargetOutcome{fineTarget}}},
		{name: "trust all with probe risks", modify: trustAll,
			out: Outcome{Targets: []TargetOutcome{fineTarget}, ProbeRisks: []string{"posthog-web/web/livenessProbe"}}},
		{name: "target problem", out: Outcome{Targets: []TargetOutcome{{Name: "posthog-web", Problem: notFound}}}},
		{name: "failed write", out: Outcome{Ingress: timeout, Targets: []TargetOutcome{{Name: "posthog-web", Err: timeout}}}},
		{name: "list blocked", out: Outcome{TrustedProxies: invalidAddress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.modify != nil {
				tt.modify(proxy)
			}
			out := outcomeFor(t, proxy, tt.out)
			proxy.Status = roundTrip(t, Status(proxy, out))

			got := Status(proxy, out)

			if !equality.Semantic.DeepEqual(got, proxy.Status) {
				gotJSON, _ := json.MarshalIndent(got, "", "  ")
				storedJSON, _ := json.MarshalIndent(proxy.Status, "", "  ")
				t.Errorf("status changed for an unchanged outcome:\n%s\nstored:\n%s", gotJSON, storedJSON)
			}
		})
	}
}

// TestStatusAfterChange starts from a stored status and checks what the
// next outcome removes, and which transition times move.
func TestStatusAfterChange(t *testing.T) {
	stored := metav1.NewTime(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	tests := []struct {
		name                string
		beforeSpec          func(*proxyv1.PostHogProxy)
		before, after       Outcome
		wantGone            []string
		wantTransitioned    []string
		wantKeptTransitions []string
	}{
		{
			name:                "target fixed: Stalled removed, Ready turns True",
			before:              Outcome{Targets: []TargetOutcome{{Name: "posthog-web", Problem: notFound}}},
			after:               Outcome{Targets: []TargetOutcome{fineTarget}},
			wantGone:            []string{proxyv1.ConditionStalled},
			wantTransitioned:    []string{proxyv1.ConditionReady, proxyv1.ConditionTargetsReady},
			wantKeptTransitions: []string{proxyv1.ConditionTrustedProxiesReady, proxyv1.ConditionIngressReady},
		},
		{
			name:                "write succeeds on retry: Reconciling removed",
			before:              Outcome{TrustedProxies: timeout, Targets: []TargetOutcome{fineTarget}},
			after:               Outcome{Targets: []TargetOutcome{fineTarget}},
			wantGone:            []string{proxyv1.ConditionReconciling},
			wantTransitioned:    []string{proxyv1.ConditionReady, proxyv1.ConditionTrustedProxiesReady},
			wantKeptTransitions: []string{proxyv1.ConditionIngressReady, proxyv1.ConditionTargetsReady},
		},
		{
			// Reason and message change (TrustAllProxies to ListPublished),
			// the status does not, so neither does the transition time.
			name:                "back from TrustAll to a list: InsecureConfiguration removed",
			beforeSpec:          trustAll,
			before:              Outcome{Targets: []TargetOutcome{fineTarget}},
			after:               Outcome{Targets: []TargetOutcome{fineTarget}},
			wantGone:            []string{proxyv1.ConditionInsecureConfiguration},
			wantKeptTransitions: []string{proxyv1.ConditionReady, proxyv1.ConditionTrustedProxiesReady},
		},
		{
			name:                "probes fixed: ProbeHostRisk removed",
			before:              Outcome{Targets: []TargetOutcome{fineTarget}, ProbeRisks: []string{"posthog-web/web/startupProbe"}},
			after:               Outcome{Targets: []TargetOutcome{fineTarget}},
			wantGone:            []string{proxyv1.ConditionProbeHostRisk},
			wantKeptTransitions: []string{proxyv1.ConditionReady},
		},
		{
			name:                "invalid spec fixed: Stalled removed",
			before:              Outcome{TrustedProxies: invalidAddress},
			after:               Outcome{Targets: []TargetOutcome{fineTarget}},
			wantGone:            []string{proxyv1.ConditionStalled},
			wantTransitioned:    []string{proxyv1.ConditionReady, proxyv1.ConditionTrustedProxiesReady},
			wantKeptTransitions: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.beforeSpec != nil {
				tt.beforeSpec(proxy)
			}
			proxy.Status = Status(proxy, outcomeFor(t, proxy, tt.before))
			for i := range proxy.Status.Conditions {
				proxy.Status.Conditions[i].LastTransitionTime = stored
			}
			for _, gone := range tt.wantGone {
				if findCondition(proxy.Status, gone) == nil {
					t.Fatalf("the first status has no %s condition to remove", gone)
				}
			}
			// A spec change bumps the generation; every condition must
			// follow, not only those whose status changed.
			proxy.Spec = newProxy().Spec
			proxy.Generation = 4

			got := Status(proxy, outcomeFor(t, proxy, tt.after))

			for _, gone := range tt.wantGone {
				if c := findCondition(got, gone); c != nil {
					t.Errorf("%s is still there: %+v", gone, *c)
				}
			}
			for _, name := range tt.wantTransitioned {
				if c := findCondition(got, name); c == nil || c.LastTransitionTime.Equal(&stored) {
					t.Errorf("%s: lastTransitionTime kept, want it moved on a status change", name)
				}
			}
			for _, name := range tt.wantKeptTransitions {
				if c := findCondition(got, name); c == nil || !c.LastTransitionTime.Equal(&stored) {
					t.Errorf("%s: lastTransitionTime moved, want it kept while the status stays", name)
				}
			}
			for _, c := range got.Conditions {
				if c.ObservedGeneration != 4 {
					t.Errorf("%s observedGeneration = %d, want 4", c.Type, c.ObservedGeneration)
				}
			}
			if got.ObservedGeneration != 4 {
				t.Errorf("observedGeneration = %d, want 4", got.ObservedGeneration)
			}
		})
	}
}

// TestConditionsUnwanted: kstatus reads an absent Reconciling or Stalled as
// False, so the builder must name them for removal rather than set False.
func TestConditionsUnwanted(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*proxyv1.PostHogProxy)
		out    Outcome
		want   []string
	}{
		{
			name: "everything applied",
			out:  Outcome{Targets: []TargetOutcome{fineTarget}},
			want: []string{proxyv1.ConditionStalled, proxyv1.ConditionReconciling,
				proxyv1.ConditionInsecureConfiguration, proxyv1.ConditionProbeHostRisk},
		},
		{
			name:   "every warning and blocker present",
			modify: trustAll,
			out: Outcome{Ingress: timeout, ProbeRisks: []string{"posthog-web/web/livenessProbe"},
				Targets: []TargetOutcome{{Name: "posthog-web", Problem: notFound}}},
			want: nil,
		},
		{
			name: "invalid spec",
			out:  Outcome{TrustedProxies: invalidAddress},
			want: []string{proxyv1.ConditionReconciling, proxyv1.ConditionInsecureConfiguration, proxyv1.ConditionProbeHostRisk},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.modify != nil {
				tt.modify(proxy)
			}
			wanted, unwanted := Conditions(proxy, outcomeFor(t, proxy, tt.out))
			if !slices.Equal(unwanted, tt.want) {
				t.Errorf("unwanted = %v, want %v", unwanted, tt.want)
			}
			for _, c := range wanted {
				if slices.Contains(unwanted, c.Type) {
					t.Errorf("%s is both wanted and unwanted", c.Type)
				}
				if c.Status == metav1.ConditionFalse && (c.Type == proxyv1.ConditionStalled || c.Type == proxyv1.ConditionReconciling) {
					t.Errorf("%s is set False; it must be absent instead", c.Type)
				}
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		termination proxyv1.TLSTermination
		hosts       []proxyv1.Hostname
		want        string
	}{
		{proxyv1.TLSAtIngress, []proxyv1.Hostname{"posthog.example.com"}, "https://posthog.example.com"},
		{proxyv1.TLSAtLoadBalancer, []proxyv1.Hostname{"posthog.example.com"}, "https://posthog.example.com"},
		{proxyv1.TLSNone, []proxyv1.Hostname{"posthog.example.com"}, "http://posthog.example.com"},
		{proxyv1.TLSAtIngress, []proxyv1.Hostname{"eu.example.org", "posthog.example.com"}, "https://eu.example.org"},
	}
	for _, tt := range tests {
		t.Run(string(tt.termination)+"/"+string(tt.hosts[0]), func(t *testing.T) {
			proxy := newProxy()
			proxy.Spec.TLS = proxyv1.TLS{Termination: tt.termination}
			proxy.Spec.Hosts = tt.hosts
			if got := URL(proxy); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			if got := Status(proxy, outcomeFor(t, proxy, Outcome{})).URL; got != tt.want {
				t.Errorf("status url = %q, want %q", got, tt.want)
			}
		})
	}
}

func findCondition(st proxyv1.PostHogProxyStatus, conditionType string) *metav1.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == conditionType {
			return &st.Conditions[i]
		}
	}
	return nil
}

// roundTrip is the status as the API server stores and returns it: times
// in whole seconds, without a monotonic clock reading.
func roundTrip(t *testing.T, st proxyv1.PostHogProxyStatus) proxyv1.PostHogProxyStatus {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var out proxyv1.PostHogProxyStatus
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A list that cannot be published leaves the last published one in effect,
// so its record stays, and every condition speaks of the new generation.
func TestStatusBlockedListKeepsTheRecord(t *testing.T) {
	proxy := newProxy()
	proxy.Status = Status(proxy, outcomeFor(t, proxy, Outcome{Targets: []TargetOutcome{{Name: "posthog-web", Containers: []string{"web"}}}}))
	applied := proxy.Status.DeepCopy()
	proxy.Generation++

	st := Status(proxy, Outcome{Now: testNow, TrustedProxies: &Problem{Reason: proxyv1.ReasonInvalidSpec, Message: "bad"}})
	if !equality.Semantic.DeepEqual(st.TrustedProxies, applied.TrustedProxies) {
		t.Errorf("trustedProxies = %+v, want the earlier %+v", st.TrustedProxies, applied.TrustedProxies)
	}
	for _, c := range st.Conditions {
		if c.ObservedGeneration != proxy.Generation {
			t.Errorf("condition %s has observedGeneration %d, want %d", c.Type, c.ObservedGeneration, proxy.Generation)
		}
	}
}

// A part that needs a person (here: a ConfigMap of the same name that the
// operator did not create) stalls; it is not retried as if it were an API
// failure.
func TestPartProblemStallsAndIsNotRetried(t *testing.T) {
	proxy := newProxy()
	taken := &Problem{Reason: proxyv1.ReasonAlreadyExists, Message: "ConfigMap posthog-trusted-proxies already exists"}
	out := Outcome{TrustedProxies: taken, Targets: []TargetOutcome{{Name: "posthog-web", Problem: &Problem{Reason: proxyv1.ReasonAlreadyExists, Message: "held back"}}}}
	if err := out.Err(); err != nil {
		t.Errorf("Err() = %v, want nil: a problem is not retried", err)
	}
	if !out.NeedsPolling() {
		t.Error("NeedsPolling() = false for a ConfigMap name taken by someone else")
	}
	if (Outcome{Targets: []TargetOutcome{{Name: "posthog-web", Problem: &Problem{Reason: proxyv1.ReasonTargetNotFound}}}}).NeedsPolling() {
		t.Error("NeedsPolling() = true for a missing Deployment, which the operator watches")
	}
	st := Status(proxy, outcomeFor(t, proxy, out))
	assertConditions(t, st, proxy.Generation, map[string]wantCondition{
		proxyv1.ConditionTrustedProxiesReady: {metav1.ConditionFalse, proxyv1.ReasonAlreadyExists, taken.Message},
		proxyv1.ConditionIngressReady:        {metav1.ConditionTrue, proxyv1.ReasonIngressApplied, ingressMessage},
		proxyv1.ConditionTargetsReady:        {metav1.ConditionFalse, proxyv1.ReasonAlreadyExists, "held back"},
		proxyv1.ConditionReady:               {metav1.ConditionFalse, proxyv1.ReasonAlreadyExists, "TrustedProxiesReady: " + taken.Message},
		proxyv1.ConditionStalled:             {metav1.ConditionTrue, proxyv1.ReasonAlreadyExists, taken.Message},
	})
	if st.TrustedProxies != nil {
		t.Errorf("trustedProxies = %+v, want none: the list was not published", st.TrustedProxies)
	}
}

func TestListMessageCountsInEnglish(t *testing.T) {
	for _, tt := range []struct {
		addresses []string
		want      string
	}{
		{[]string{"10.0.0.1"}, "1 trusted proxy published in ConfigMap posthog-trusted-proxies (static: 1)"},
		{[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, "3 trusted proxies published in ConfigMap posthog-trusted-proxies (static: 3)"},
	} {
		got := trustedProxiesCondition(newProxy(), Outcome{Proxies: ProxyList{List: mustList(t, tt.addresses...)}})
		if got.Message != tt.want {
			t.Errorf("message = %q, want %q", got.Message, tt.want)
		}
	}
}
