package desired

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// DefaultContainerAnnotation is kubectl's way to name the main container of
// a pod; the operator honours it when a target names no container.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// Problem is why a part cannot be applied, as a condition reason and a
// message for a person.
type Problem struct {
	Reason  string
	Message string
}

func (p *Problem) Error() string { return p.Message }

// Observed is what the operator found for one target.
type Observed struct {
	// Deployment is nil when it does not exist.
	Deployment *appsv1.Deployment
	// ClaimedBy names another PostHogProxy that already patches it.
	ClaimedBy string
}

// ResolveContainers picks the containers of a target Deployment to patch, or
// says why it cannot.
func ResolveContainers(proxy *proxyv1.PostHogProxy, target proxyv1.TargetDeployment, seen Observed) ([]string, *Problem) {
	if seen.Deployment == nil {
		return nil, &Problem{proxyv1.ReasonTargetNotFound, fmt.Sprintf(
			"Deployment %s/%s does not exist; create it or fix spec.targets", proxy.Namespace, target.Name)}
	}
	if seen.ClaimedBy != "" && seen.ClaimedBy != proxy.Name {
		return nil, &Problem{proxyv1.ReasonTargetClaimed, fmt.Sprintf(
			"Deployment %s is already patched by PostHogProxy %s; one Deployment takes its proxy settings from one PostHogProxy",
			target.Name, seen.ClaimedBy)}
	}

	pod := seen.Deployment.Spec.Template
	have := make([]string, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		have[i] = c.Name
	}
	if len(target.Containers) == 0 {
		if def := pod.Annotations[DefaultContainerAnnotation]; def != "" && slices.Contains(have, def) {
			return []string{def}, nil
		}
		if len(have) == 1 {
			return have, nil
		}
		return nil, &Problem{proxyv1.ReasonContainerNotSpecified, fmt.Sprintf(
			"Deployment %s has containers %s and none is marked with the %s annotation; list the PostHog web container in spec.targets[].containers",
			target.Name, strings.Join(have, ", "), DefaultContainerAnnotation)}
	}

	var missing []string
	names := make([]string, len(target.Containers))
	for i, c := range target.Containers {
		names[i] = string(c)
		if !slices.Contains(have, names[i]) {
			missing = append(missing, names[i])
		}
	}
	if len(missing) > 0 {
		return nil, &Problem{proxyv1.ReasonContainerNotFound, fmt.Sprintf(
			"Deployment %s has no container %s (it has %s); fix spec.targets[].containers",
			target.Name, strings.Join(missing, ", "), strings.Join(have, ", "))}
	}
	return names, nil
}

// ProbesWithoutHost lists, as "container/probe", the HTTP probes of the
// given containers that send no Host header. Kubelet then sends the pod IP
// as Host, which a strict ALLOWED_HOSTS refuses.
func ProbesWithoutHost(deployment *appsv1.Deployment, containers []string) []string {
	var risky []string
	for _, c := range deployment.Spec.Template.Spec.Containers {
		if !slices.Contains(containers, c.Name) {
			continue
		}
		for _, p := range []struct {
			kind  string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				continue
			}
			if !slices.ContainsFunc(p.probe.HTTPGet.HTTPHeaders, func(h corev1.HTTPHeader) bool {
				return strings.EqualFold(h.Name, "Host")
			}) {
				risky = append(risky, c.Name+"/"+p.kind)
			}
		}
	}
	return risky
}

// PatchedBy says whether a Deployment carries a patch of this PostHogProxy
// that the operator can take back: it holds fields the operator applied, and either the patched-by annotation names this PostHogProxy or,
// should someone have removed the annotation, it is one of its targets.
func PatchedBy(proxy *proxyv1.PostHogProxy, deployment metav1.Object) bool {
	applied := slices.ContainsFunc(deployment.GetManagedFields(), func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply
	})
	if !applied {
		return false
	}
	switch deployment.GetAnnotations()[PatchedByAnnotation] {
	case proxy.Name:
		return true
	case "":
		return slices.ContainsFunc(proxy.Spec.Targets, func(t proxyv1.TargetDeployment) bool {
			return t.Name == deployment.GetName()
		})
	default:
		return false
	}
}
