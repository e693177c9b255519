package desired

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

func deployment(podAnnotations map[string]string, containers ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog-web", Namespace: "analytics"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: podAnnotations},
			Spec:       corev1.PodSpec{Containers: containers},
		}},
	}
}

// webWithEnv is a Deployment whose one container, web, has the given env.
func webWithEnv(env ...corev1.EnvVar) *appsv1.Deployment {
	c := containersNamed("web")
	c[0].Env = env
	return deployment(nil, c...)
}

// operatorApplied is what the operator applied to container web: one
// variable.
func operatorApplied(name, value string) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment("posthog-web", "analytics").WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
		corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithContainers(
			corev1ac.Container().WithName("web").WithEnv(corev1ac.EnvVar().WithName(name).WithValue(value))))))
}

func containersNamed(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: "posthog/posthog:latest"}
	}
	return out
}

func TestResolveContainers(t *testing.T) {
	defaultIs := func(name string) map[string]string {
		return map[string]string{DefaultContainerAnnotation: name}
	}
	tests := []struct {
		name       string
		listed     []proxyv1.ContainerName
		seen       Observed
		want       []string
		wantReason string
		// wantInMessage are the names a person needs to fix the problem.
		wantInMessage []string
	}{
		{
			name:          "deployment missing",
			seen:          Observed{},
			wantReason:    proxyv1.ReasonTargetNotFound,
			wantInMessage: []string{"analytics/posthog-web"},
		},
		{
			name:          "claimed by another proxy",
			seen:          Observed{Deployment: deployment(nil, containersNamed("web")...), ClaimedBy: "posthog-eu"},
			wantReason:    proxyv1.ReasonTargetClaimed,
			wantInMessage: []string{"posthog-web", "PostHogProxy posthog-eu"},
		},
		{
			name: "claimed by this proxy",
			seen: Observed{Deployment: deployment(nil, containersNamed("web")...), ClaimedBy: "posthog"},
			want: []string{"web"},
		},
		{
			name: "none listed, single container",
			seen: Observed{Deployment: deployment(nil, containersNamed("web")...)},
			want: []string{"web"},
		},
		{
			name: "none listed, several containers, default-container annotation",
			seen: Observed{Deployment: deployment(defaultIs("web"), containersNamed("proxy-sidecar", "web", "log-shipper")...)},
			want: []string{"web"},
		},
		{
			name:          "none listed, several containers, annotation names a missing container",
			seen:          Observed{Deployment: deployment(defaultIs("django"), containersNamed("web", "log-shipper")...)},
			wantReason:    proxyv1.ReasonContainerNotSpecified,
			wantInMessage: []string{"web, log-shipper"},
		},
		{
			// A guess could patch a sidecar and leave PostHog unconfigured.
			name:          "none listed, several containers, no annotation",
			seen:          Observed{Deployment: deployment(nil, containersNamed("web", "log-shipper")...)},
			wantReason:    proxyv1.ReasonContainerNotSpecified,
			wantInMessage: []string{"web, log-shipper", DefaultContainerAnnotation},
		},
		{
			name:   "listed containers all present, returned in spec order",
			listed: []proxyv1.ContainerName{"web", "proxy-sidecar"},
			seen:   Observed{Deployment: deployment(defaultIs("log-shipper"), containersNamed("proxy-sidecar", "web", "log-shipper")...)},
			want:   []string{"web", "proxy-sidecar"},
		},
		{
			name:          "listed container missing",
			listed:        []proxyv1.ContainerName{"web", "django"},
			seen:          Observed{Deployment: deployment(nil, containersNamed("web", "log-shipper")...)},
			wantReason:    proxyv1.ReasonContainerNotFound,
			wantInMessage: []string{"no container django ", "(it has web, log-shipper)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := proxyv1.TargetDeployment{Name: "posthog-web", Containers: tt.listed}

			got, problem := ResolveContainers(newProxy(), target, tt.seen)

			if tt.wantReason == "" {
				if problem != nil {
					t.Fatalf("problem %+v, want containers %q", *problem, tt.want)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("containers = %q, want %q", got, tt.want)
				}
				return
			}
			if problem == nil {
				t.Fatalf("containers %q, want a %s problem", got, tt.wantReason)
			}
			if got != nil {
				t.Errorf("containers = %q alongside a problem, want none", got)
			}
			if problem.Reason != tt.wantReason {
				t.Errorf("reason = %s, want %s", problem.Reason, tt.wantReason)
			}
			for _, s := range tt.wantInMessage {
				if !strings.Contains(problem.Message, s) {
					t.Errorf("message %q does not contain %q", problem.Message, s)
				}
			}
		})
	}
}

func TestProbesWithoutHost(t *testing.T) {
	httpProbe := func(headers ...string) *corev1.Probe {
		get := &corev1.HTTPGetAction{Path: "/_health", Port: intstr.FromInt32(8000)}
		for _, h := range headers {
			get.HTTPHeaders = append(get.HTTPHeaders, corev1.HTTPHeader{Name: h, Value: "posthog.example.com"})
		}
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: get}}
	}
	web := func(liveness, readiness, startup *corev1.Probe) corev1.Container {
		return corev1.Container{Name: "web", LivenessProbe: liveness, ReadinessProbe: readiness, StartupProbe: startup}
	}
	tests := []struct {
		name       string
		containers []corev1.Container
		patched    []string
		want       []string
	}{
		{
			name:       "HTTP probes without Host header, listed per kind",
			containers: []corev1.Container{web(httpProbe(), httpProbe(), httpProbe())},
			patched:    []string{"web"},
			want:       []string{"web/livenessProbe", "web/readinessProbe", "web/startupProbe"},
		},
		{
			name:       "other headers do not count",
			containers: []corev1.Container{web(nil, httpProbe("X-Forwarded-Proto"), nil)},
			patched:    []string{"web"},
			want:       []string{"web/readinessProbe"},
		},
		{
			// Kubelet sends header names as written; HTTP compares them
			// without case.
			name:       "Host header in any case is enough",
			containers: []corev1.Container{web(httpProbe("host"), httpProbe("Host"), httpProbe("X-Trace", "HOST"))},
			patched:    []string{"web"},
		},
		{
			name: "exec, tcpSocket and grpc probes send no Host",
			containers: []corev1.Container{web(
				&corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
				&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8000)}}},
				&corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 8001}}},
			)},
			patched: []string{"web"},
		},
		{
			name: "containers that are not patched are ignored",
			containers: []corev1.Container{
				{Name: "log-shipper", LivenessProbe: httpProbe()},
				web(nil, httpProbe(), nil),
				{Name: "proxy-sidecar", ReadinessProbe: httpProbe()},
			},
			patched: []string{"web"},
			want:    []string{"web/readinessProbe"},
		},
		{
			name:       "no probes",
			containers: []corev1.Container{web(nil, nil, nil)},
			patched:    []string{"web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProbesWithoutHost(deployment(nil, tt.containers...), tt.patched)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ProbesWithoutHost = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPatchOwner(t *testing.T) {
	at := func(name string, minute int, targets ...string) proxyv1.PostHogProxy {
		p := proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Name: name,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC))}}
		for _, t := range targets {
			p.Spec.Targets = append(p.Spec.Targets, proxyv1.TargetDeployment{Name: t})
		}
		return p
	}
	tests := []struct {
		name      string
		patchedBy string
		proxies   []proxyv1.PostHogProxy
		want      string
	}{
		{"nobody targets it", "", []proxyv1.PostHogProxy{at("a", 1, "other")}, ""},
		{"the only one that targets it", "", []proxyv1.PostHogProxy{at("a", 1, "posthog-web")}, "a"},
		{"the oldest of several", "", []proxyv1.PostHogProxy{at("young", 5, "posthog-web"), at("old", 1, "posthog-web")}, "old"},
		{"same age: the first name", "", []proxyv1.PostHogProxy{at("b", 1, "posthog-web"), at("a", 1, "posthog-web")}, "a"},
		{"the annotation wins over age", "young", []proxyv1.PostHogProxy{at("young", 5, "posthog-web"), at("old", 1, "posthog-web")}, "young"},
		{"the annotation wins after its target left the spec", "a", []proxyv1.PostHogProxy{at("a", 1), at("b", 2, "posthog-web")}, "a"},
		{"an annotation naming a deleted one is ignored", "gone", []proxyv1.PostHogProxy{at("b", 2, "posthog-web")}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &metav1.ObjectMeta{Name: "posthog-web"}
			if tt.patchedBy != "" {
				d.Annotations = map[string]string{PatchedByAnnotation: tt.patchedBy}
			}
			if got := PatchOwner(d, tt.proxies); got != tt.want {
				t.Errorf("PatchOwner = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPatchedBy(t *testing.T) {
	applied := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}}
	updatedOnly := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate}}
	otherApplied := []metav1.ManagedFieldsEntry{{Manager: "helm", Operation: metav1.ManagedFieldsOperationApply}}
	older := proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Name: "older", CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec: proxyv1.PostHogProxySpec{Targets: []proxyv1.TargetDeployment{{Name: "posthog-web"}}}}
	tests := []struct {
		name       string
		deployment string
		patchedBy  string
		managed    []metav1.ManagedFieldsEntry
		others     []proxyv1.PostHogProxy
		want       bool
	}{
		{"annotated with this proxy and applied", "other-web", "posthog", applied, nil, true},
		{"annotation removed, but its target and applied", "posthog-web", "", applied, nil, true},
		{"annotation removed, and an older one targets it too", "posthog-web", "", applied, []proxyv1.PostHogProxy{older}, false},
		{"annotation removed and not a target", "other-web", "", applied, nil, false},
		{"annotated with another existing proxy", "posthog-web", "older", applied, []proxyv1.PostHogProxy{older}, false},
		{"nothing applied by the operator", "posthog-web", "posthog", otherApplied, nil, false},
		{"the operator's manager only in an Update entry", "posthog-web", "posthog", updatedOnly, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			proxy.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			d := &metav1.ObjectMeta{Name: tt.deployment, ManagedFields: tt.managed}
			if tt.patchedBy != "" {
				d.Annotations = map[string]string{PatchedByAnnotation: tt.patchedBy}
			}
			if got := PatchedBy(proxy, d, append([]proxyv1.PostHogProxy{*proxy}, tt.others...)); got != tt.want {
				t.Errorf("PatchedBy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestResolveContainersNamesAMissingDefaultContainer(t *testing.T) {
	proxy := newProxy()
	d := deployment(map[string]string{DefaultContainerAnnotation: "gone"}, containersNamed("web", "sidecar")...)
	_, problem := ResolveContainers(proxy, proxy.Spec.Targets[0], Observed{Deployment: d})
	want := "Deployment posthog-web's kubectl.kubernetes.io/default-container annotation names gone, which is not one of its containers (web, sidecar)"
	if problem == nil || problem.Reason != proxyv1.ReasonContainerNotSpecified || !strings.HasPrefix(problem.Message, want) {
		t.Fatalf("problem = %+v, want ContainerNotSpecified starting %q", problem, want)
	}
}

func TestTrustAllSetElsewhere(t *testing.T) {
	ours := operatorApplied(EnvTrustAllProxies, "true")
	fromSecret := &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}
	tests := []struct {
		name       string
		trustAll   bool
		deployment *appsv1.Deployment
		owned      *appsv1ac.DeploymentApplyConfiguration
		want       string
	}{
		{"absent", false, webWithEnv(), nil, ""},
		{"empty value is off", false, webWithEnv(corev1.EnvVar{Name: EnvTrustAllProxies}), nil, ""},
		{"\"False\" is on", false, webWithEnv(corev1.EnvVar{Name: EnvTrustAllProxies, Value: "False"}), nil, `container web sets it to "False"`},
		{"from a reference", false, webWithEnv(corev1.EnvVar{Name: EnvTrustAllProxies, ValueFrom: fromSecret}), nil, "container web takes it from a reference"},
		{"the operator's own, about to be removed", false, webWithEnv(corev1.EnvVar{Name: EnvTrustAllProxies, Value: "true"}), ours, ""},
		{"trust-all asked for", true, webWithEnv(corev1.EnvVar{Name: EnvTrustAllProxies, Value: "1"}), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			if tt.trustAll {
				proxy.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}
			}
			got := TrustAllSetElsewhere(proxy, tt.deployment, []string{"web"}, tt.owned)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("got %+v, want no problem", got)
			case tt.want != "" && (got == nil || got.Reason != proxyv1.ReasonTrustAllSetElsewhere || !strings.Contains(got.Message, tt.want)):
				t.Errorf("got %+v, want TrustAllSetElsewhere saying %q", got, tt.want)
			}
		})
	}
}

func TestAdoptable(t *testing.T) {
	proxy := newProxy()
	ref := func(name string, uid types.UID) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: proxyv1.GroupVersion.String(), Kind: "PostHogProxy", Name: name, UID: uid, Controller: ptr.To(true)}}
	}
	ourLabels := map[string]string{ManagedByLabel: ManagedByValue, InstanceLabel: "posthog"}
	tests := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   bool
	}{
		{"controlled by this one", nil, ref("posthog", proxy.UID), true},
		{"made for an earlier one of the same name", ourLabels, ref("posthog", "old-uid"), true},
		{"an earlier one's, but its labels were changed", map[string]string{ManagedByLabel: "Helm"}, ref("posthog", "old-uid"), false},
		{"another PostHogProxy's", map[string]string{ManagedByLabel: ManagedByValue, InstanceLabel: "eu"}, ref("eu", "eu-uid"), false},
		{"no owner: someone's own object", ourLabels, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &metav1.ObjectMeta{Name: "posthog", Labels: tt.labels, OwnerReferences: tt.owners}
			if got := Adoptable(obj, proxy); got != tt.want {
				t.Errorf("Adoptable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSharedEnvLeavesSameReadingValuesAlone(t *testing.T) {
	proxy := newProxy()
	ours := operatorApplied(EnvSiteURL, "https://posthog.example.com/")
	for _, tt := range []struct {
		name  string
		env   corev1.EnvVar
		owned *appsv1ac.DeploymentApplyConfiguration
		want  bool
	}{
		{"SITE_URL with a trailing slash", corev1.EnvVar{Name: EnvSiteURL, Value: "https://posthog.example.com/"}, nil, true},
		{"SITE_URL of another host", corev1.EnvVar{Name: EnvSiteURL, Value: "https://old.example.com"}, nil, false},
		{"IS_BEHIND_PROXY spelled TRUE", corev1.EnvVar{Name: EnvIsBehindProxy, Value: "TRUE"}, nil, true},
		{"IS_BEHIND_PROXY off", corev1.EnvVar{Name: EnvIsBehindProxy, Value: "false"}, nil, false},
		{"the same value: nothing to leave", corev1.EnvVar{Name: EnvIsBehindProxy, Value: "true"}, nil, false},
		{"ALLOWED_HOSTS in another order", corev1.EnvVar{Name: EnvAllowedHosts, Value: " posthog.example.com ,"}, nil, true},
		{"the operator's own value stays its own", corev1.EnvVar{Name: EnvSiteURL, Value: "https://posthog.example.com/"}, ours, false},
		{"a variable the operator does not set", corev1.EnvVar{Name: "DEBUG", Value: "1"}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := SharedEnv(proxy, webWithEnv(tt.env), []string{"web"}, tt.owned)["web"][tt.env.Name]
			if got != tt.want {
				t.Errorf("shared = %v, want %v", got, tt.want)
			}
		})
	}
	patch := DeploymentPatch(proxy, "posthog-web", []string{"web"}, "h", map[string]map[string]bool{"web": {EnvSiteURL: true}})
	for _, e := range patch.Spec.Template.Spec.Containers[0].Env {
		if *e.Name == EnvSiteURL {
			t.Error("a shared SITE_URL is still in the patch")
		}
	}
}
