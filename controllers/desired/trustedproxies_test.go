package desired

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

var ingressNginx = proxyv1.ServiceReference{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}
var ingressInternal = proxyv1.ServiceReference{Namespace: "ingress-nginx", Name: "ingress-nginx-internal"}

func entries(t *testing.T, s ...string) []trust.Entry {
	t.Helper()
	e, err := trust.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTrustedProxyList(t *testing.T) {
	presets, err := trust.BuiltInPresets()
	if err != nil {
		t.Fatal(err)
	}
	many := make([]trust.Entry, 0, 4000)
	for i := range 4000 {
		many = append(many, entries(t, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))...)
	}
	tests := []struct {
		name        string
		modify      func(*proxyv1.PostHogProxy)
		in          ProxyInputs
		wantValue   string
		wantBlocked string
		wantUnmatch string
		wantLeaving int
	}{
		{name: "static only", wantValue: "10.0.0.7,10.0.0.8"},
		{name: "static and a discovered Service, deduplicated",
			modify: withService,
			in: ProxyInputs{Services: map[proxyv1.ServiceReference]ServiceEndpoints{
				ingressNginx: {Found: true, Ready: entries(t, "10.0.0.8", "fd00::17")}}},
			wantValue: "10.0.0.7,10.0.0.8,fd00::17"},
		{name: "a Service with no ready endpoints gives nothing, and that is fine",
			modify:    withService,
			in:        ProxyInputs{Services: map[proxyv1.ServiceReference]ServiceEndpoints{ingressNginx: {Found: true}}},
			wantValue: "10.0.0.7,10.0.0.8"},
		{name: "a missing Service blocks the list",
			modify:      withService,
			wantBlocked: "Service ingress-nginx/ingress-nginx-controller in spec.trustedProxies.services does not exist"},
		{name: "an unknown preset blocks the list and names the known ones",
			modify: func(p *proxyv1.PostHogProxy) { p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"akamai"} },
			in:     ProxyInputs{Presets: presets}, wantBlocked: `knows no preset "akamai"; it knows cloudflare`},
		{name: "the cloudflare preset under Exact matching is published but unmatchable",
			modify:      func(p *proxyv1.PostHogProxy) { p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"cloudflare"} },
			in:          ProxyInputs{Presets: presets},
			wantUnmatch: "these networks match no peer: 103.21.244.0/22, 103.22.200.0/22"},
		{name: "the cloudflare preset under Network matching is fine",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"cloudflare"}
				p.Spec.TrustedProxies.Matching = proxyv1.MatchNetwork
			},
			in: ProxyInputs{Presets: presets}},
		{name: "a /32 under Exact matching is an address, not a range",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.7/32"}
			},
			wantValue: "10.0.0.7"},
		{name: "a stored /0 blocks the list",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"0.0.0.0/0"}
			},
			wantBlocked: "trusts every client"},
		{name: "an over-size list is blocked, not truncated",
			modify: withService,
			in: ProxyInputs{Services: map[proxyv1.ServiceReference]ServiceEndpoints{
				ingressNginx: {Found: true, Ready: many}}},
			wantBlocked: "the trusted proxy list would be 4002 entries"},
		{name: "an address that left stays for the grace period",
			modify: withService,
			in: ProxyInputs{
				Now:       testNow,
				Services:  map[proxyv1.ServiceReference]ServiceEndpoints{ingressNginx: {Found: true, Ready: entries(t, "10.42.0.2")}},
				Published: Published{Discovered: map[string][]trust.Entry{ServiceSourceName(ingressNginx): entries(t, "10.42.0.1")}},
			},
			wantValue: "10.0.0.7,10.0.0.8,10.42.0.1,10.42.0.2", wantLeaving: 1},
		{name: "an address that left two Services at once leaves once",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{ingressNginx, ingressInternal}
			},
			in: ProxyInputs{
				Now: testNow,
				Services: map[proxyv1.ServiceReference]ServiceEndpoints{
					ingressNginx: {Found: true}, ingressInternal: {Found: true}},
				Published: Published{Discovered: map[string][]trust.Entry{
					ServiceSourceName(ingressNginx):    entries(t, "10.42.0.1"),
					ServiceSourceName(ingressInternal): entries(t, "10.42.0.1")}},
			},
			wantValue: "10.0.0.7,10.0.0.8,10.42.0.1", wantLeaving: 1},
		{name: "a Service removed from the spec gives no grace",
			in: ProxyInputs{
				Now: testNow,
				Published: Published{
					Discovered: map[string][]trust.Entry{ServiceSourceName(ingressNginx): entries(t, "10.42.0.1")},
					Leaving:    []trust.Departure{{Entry: entries(t, "10.42.0.9")[0], Until: testNow.Add(time.Minute), From: ServiceSourceName(ingressNginx)}},
				},
			},
			wantValue: "10.0.0.7,10.0.0.8", wantLeaving: 0},
		{name: "an address that left discovery but is also static is not leaving",
			modify: withService,
			in: ProxyInputs{
				Now:       testNow,
				Services:  map[proxyv1.ServiceReference]ServiceEndpoints{ingressNginx: {Found: true}},
				Published: Published{Discovered: map[string][]trust.Entry{ServiceSourceName(ingressNginx): entries(t, "10.0.0.7")}},
			},
			wantValue: "10.0.0.7,10.0.0.8", wantLeaving: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.modify != nil {
				tt.modify(proxy)
			}
			got := TrustedProxyList(proxy, tt.in)
			switch {
			case tt.wantBlocked != "":
				if got.Blocked == nil || !strings.Contains(got.Blocked.Message, tt.wantBlocked) {
					t.Fatalf("Blocked = %+v, want a problem saying %q", got.Blocked, tt.wantBlocked)
				}
				return
			case got.Blocked != nil:
				t.Fatalf("blocked: %s", got.Blocked.Message)
			}
			if tt.wantValue != "" && got.List.Value() != tt.wantValue {
				t.Errorf("list = %q, want %q", got.List.Value(), tt.wantValue)
			}
			if tt.wantUnmatch == "" && got.Unmatchable != nil {
				t.Errorf("unexpected Unmatchable: %s", got.Unmatchable.Message)
			}
			if tt.wantUnmatch != "" && (got.Unmatchable == nil || got.Unmatchable.Reason != proxyv1.ReasonUnmatchableEntries ||
				!strings.Contains(got.Unmatchable.Message, tt.wantUnmatch)) {
				t.Errorf("Unmatchable = %+v, want one saying %q", got.Unmatchable, tt.wantUnmatch)
			}
			if len(got.Leaving) != tt.wantLeaving {
				t.Errorf("leaving = %v, want %d", got.Leaving, tt.wantLeaving)
			}
		})
	}
}

func withService(p *proxyv1.PostHogProxy) {
	p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{ingressNginx}
}

func TestPlanRollout(t *testing.T) {
	const current, older = "sha256:new", "sha256:old"
	at := func(d time.Duration) *metav1.Time { mt := metav1.NewTime(testNow.Add(d)); return &mt }
	tests := []struct {
		name     string
		prev     *proxyv1.TrustedProxiesStatus
		want     string
		wantWait time.Duration
		wantAt   time.Time
	}{
		{name: "first list: at once", prev: nil, want: current, wantAt: testNow},
		{name: "unchanged: nothing waits", prev: &proxyv1.TrustedProxiesStatus{Hash: current, RolledHash: current, ChangedAt: at(-time.Hour)},
			want: current, wantAt: testNow.Add(-time.Hour)},
		{name: "just changed: the old list stays for the window",
			prev: &proxyv1.TrustedProxiesStatus{Hash: older, RolledHash: older, ChangedAt: at(-time.Hour)},
			want: older, wantWait: 30 * time.Second, wantAt: testNow},
		{name: "changed 10s ago: 20s to go",
			prev: &proxyv1.TrustedProxiesStatus{Hash: current, RolledHash: older, ChangedAt: at(-10 * time.Second)},
			want: older, wantWait: 20 * time.Second, wantAt: testNow.Add(-10 * time.Second)},
		{name: "quiet for the window: rolls",
			prev: &proxyv1.TrustedProxiesStatus{Hash: current, RolledHash: older, ChangedAt: at(-30 * time.Second)},
			want: current, wantAt: testNow.Add(-30 * time.Second)},
		{name: "changed back to what the pods run: nothing to roll",
			prev: &proxyv1.TrustedProxiesStatus{Hash: "sha256:in-between", RolledHash: current, ChangedAt: at(-time.Second)},
			want: current, wantAt: testNow},
		{name: "a list that never settles rolls ten windows after it first differed",
			prev: &proxyv1.TrustedProxiesStatus{Hash: "sha256:previous-change", RolledHash: older, ChangedAt: at(-5 * time.Second), PendingSince: at(-300 * time.Second)},
			want: current, wantAt: testNow},
		{name: "a list that keeps changing before the cap still waits, for the quiet window at most",
			prev: &proxyv1.TrustedProxiesStatus{Hash: "sha256:previous-change", RolledHash: older, ChangedAt: at(-5 * time.Second), PendingSince: at(-290 * time.Second)},
			want: older, wantWait: 10 * time.Second, wantAt: testNow},
		{name: "no record of a rolled list (status lost): at once",
			prev: &proxyv1.TrustedProxiesStatus{Hash: older}, want: current, wantAt: testNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			proxy.Status.ObservedGeneration = proxy.Generation
			proxy.Status.TrustedProxies = tt.prev
			got := PlanRollout(proxy, current, testNow)
			if (got.Wait > 0) == got.PendingSince.IsZero() {
				t.Errorf("PendingSince = %v with wait %s: it must be set exactly while a change waits", got.PendingSince, got.Wait)
			}
			if got.Hash != tt.want || got.Wait != tt.wantWait || !got.ChangedAt.Equal(tt.wantAt) {
				t.Errorf("PlanRollout = %+v, want hash %s, wait %s, changedAt %s", got, tt.want, tt.wantWait, tt.wantAt)
			}
		})
	}

	pending := &proxyv1.TrustedProxiesStatus{Hash: older, RolledHash: older, ChangedAt: at(-time.Hour)}
	t.Run("a spec change takes a pending list with it: one rollout, not two", func(t *testing.T) {
		proxy := newProxy()
		proxy.Status.ObservedGeneration = proxy.Generation - 1
		proxy.Status.TrustedProxies = pending
		if got := PlanRollout(proxy, current, testNow); got.Hash != current || got.Wait != 0 {
			t.Errorf("PlanRollout = %+v", got)
		}
	})
	t.Run("under TrustAll no pod reads the list: nothing waits", func(t *testing.T) {
		proxy := newProxy()
		trustAll(proxy)
		proxy.Status.ObservedGeneration = proxy.Generation
		proxy.Status.TrustedProxies = pending
		if got := PlanRollout(proxy, current, testNow); got.Hash != current || got.Wait != 0 {
			t.Errorf("PlanRollout = %+v", got)
		}
	})
	t.Run("a change at a fraction of a second waits the whole window", func(t *testing.T) {
		proxy := newProxy()
		proxy.Status.ObservedGeneration = proxy.Generation
		proxy.Status.TrustedProxies = pending
		got := PlanRollout(proxy, current, testNow.Add(900*time.Millisecond))
		if !got.ChangedAt.Equal(testNow.Add(time.Second)) || got.Wait != 30*time.Second+100*time.Millisecond {
			t.Errorf("PlanRollout = %+v, want changedAt rounded up to the second and the window counted from there", got)
		}
	})
	t.Run("window 0 rolls every change at once", func(t *testing.T) {
		proxy := newProxy()
		proxy.Status.ObservedGeneration = proxy.Generation
		proxy.Spec.TrustedProxies.Rollout.Window = &metav1.Duration{}
		proxy.Status.TrustedProxies = &proxyv1.TrustedProxiesStatus{Hash: older, RolledHash: older, ChangedAt: at(-time.Hour)}
		if got := PlanRollout(proxy, current, testNow); got.Hash != current || got.Wait != 0 {
			t.Errorf("PlanRollout = %+v", got)
		}
	})
}

func TestRecheckAfter(t *testing.T) {
	e := entries(t, "10.42.0.1")[0]
	out := Outcome{Now: testNow, Plan: RolloutPlan{Wait: 20 * time.Second},
		Proxies: ProxyList{Leaving: []trust.Departure{{Entry: e, Until: testNow.Add(5 * time.Second)}}}}
	if got := out.RecheckAfter(); got != 5*time.Second {
		t.Errorf("RecheckAfter = %s, want the earlier of the window and the grace end (5s)", got)
	}
	out.Proxies.Leaving = nil
	if got := out.RecheckAfter(); got != 20*time.Second {
		t.Errorf("RecheckAfter = %s, want 20s", got)
	}
	if got := (Outcome{Now: testNow}).RecheckAfter(); got != 0 {
		t.Errorf("RecheckAfter = %s, want 0 when nothing waits", got)
	}
}
