package desired

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

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

func TestPatchedBy(t *testing.T) {
	applied := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}}
	updatedOnly := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate}}
	otherApplied := []metav1.ManagedFieldsEntry{{Manager: "helm", Operation: metav1.ManagedFieldsOperationApply}}
	tests := []struct {
		name       string
		deployment string
		patchedBy  string
		managed    []metav1.ManagedFieldsEntry
		want       bool
	}{
		{"annotated with this proxy and applied", "other-web", "posthog", applied, true},
		{"annotation removed, but a target and applied", "posthog-web", "", applied, true},
		{"annotation removed and not a target", "other-web", "", applied, false},
		{"annotated with another proxy", "posthog-web", "eu", applied, false},
		{"nothing applied by the operator", "posthog-web", "posthog", otherApplied, false},
		{"the operator's manager only in an Update entry", "posthog-web", "posthog", updatedOnly, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			d := &metav1.ObjectMeta{Name: tt.deployment, ManagedFields: tt.managed}
			if tt.patchedBy != "" {
				d.Annotations = map[string]string{PatchedByAnnotation: tt.patchedBy}
			}
			if got := PatchedBy(proxy, d); got != tt.want {
				t.Errorf("PatchedBy = %v, want %v (targets %v)", got, tt.want, proxy.Spec.Targets)
			}
		})
	}
}
