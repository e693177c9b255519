package desired

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

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
		if def := pod.Annotations[DefaultContainerAnnotation]; def != "" {
			return nil, &Problem{proxyv1.ReasonContainerNotSpecified, fmt.Sprintf(
				"Deployment %s's %s annotation names %s, which is not one of its containers (%s); list the PostHog web container in spec.targets[].containers",
				target.Name, DefaultContainerAnnotation, def, strings.Join(have, ", "))}
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

// PatchOwner names the PostHogProxy, among those of the Deployment's
// namespace, whose patch the Deployment carries or should carry: the one its
// patched-by annotation names, while that one exists; otherwise the oldest
// (by creation, then name) that targets it. Deciding from the resources
// themselves keeps a removed annotation from handing the Deployment to
// another PostHogProxy. Empty when none does.
func PatchOwner(deployment metav1.Object, proxies []proxyv1.PostHogProxy) string {
	if named := deployment.GetAnnotations()[PatchedByAnnotation]; named != "" {
		if slices.ContainsFunc(proxies, func(p proxyv1.PostHogProxy) bool { return p.Name == named }) {
			return named
		}
	}
	var owner *proxyv1.PostHogProxy
	for i := range proxies {
		p := &proxies[i]
		if !slices.ContainsFunc(p.Spec.Targets, func(t proxyv1.TargetDeployment) bool { return t.Name == deployment.GetName() }) {
			continue
		}
		if owner == nil || p.CreationTimestamp.Before(&owner.CreationTimestamp) ||
			(p.CreationTimestamp.Equal(&owner.CreationTimestamp) && p.Name < owner.Name) {
			owner = p
		}
	}
	if owner == nil {
		return ""
	}
	return owner.Name
}

// PatchedBy says whether a Deployment carries a patch of this PostHogProxy
// that the operator can take back: the operator applied fields to it, and
// this PostHogProxy is its PatchOwner.
func PatchedBy(proxy *proxyv1.PostHogProxy, deployment metav1.Object, proxies []proxyv1.PostHogProxy) bool {
	applied := slices.ContainsFunc(deployment.GetManagedFields(), func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply
	})
	return applied && PatchOwner(deployment, proxies) == proxy.Name
}

// TrustAllSetElsewhere is a problem when, with a trusted proxy list, a
// patched container still gets TRUST_ALL_PROXIES from someone other than the
// operator (owned holds what the operator applied). PostHog reads any
// non-empty value, "False" and "0" included, as on, so the list would have
// no effect.
func TrustAllSetElsewhere(proxy *proxyv1.PostHogProxy, deployment *appsv1.Deployment, containers []string, owned *appsv1ac.DeploymentApplyConfiguration) *Problem {
	if policy(proxy) == proxyv1.TrustAll {
		return nil
	}
	var found []string
	for _, c := range deployment.Spec.Template.Spec.Containers {
		if !slices.Contains(containers, c.Name) || ownsEnv(owned, c.Name, EnvTrustAllProxies) {
			continue
		}
		for _, e := range c.Env {
			switch {
			case e.Name != EnvTrustAllProxies:
			case e.ValueFrom != nil:
				found = append(found, fmt.Sprintf("container %s takes it from a reference", c.Name))
			case e.Value != "":
				found = append(found, fmt.Sprintf("container %s sets it to %q", c.Name, e.Value))
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	return &Problem{proxyv1.ReasonTrustAllSetElsewhere, fmt.Sprintf(
		"Deployment %s: %s; PostHog reads any non-empty TRUST_ALL_PROXIES, even \"False\" or \"0\", as trusting every proxy, so the trusted proxy list has no effect: remove the variable from the Deployment's manifest, or set spec.trustedProxies.policy to TrustAll",
		deployment.Name, strings.Join(found, ", "))}
}

func ownsEnv(owned *appsv1ac.DeploymentApplyConfiguration, container, name string) bool {
	if owned == nil || owned.Spec == nil || owned.Spec.Template == nil || owned.Spec.Template.Spec == nil {
		return false
	}
	for _, c := range owned.Spec.Template.Spec.Containers {
		if c.Name != nil && *c.Name == container {
			return slices.ContainsFunc(c.Env, func(e corev1ac.EnvVarApplyConfiguration) bool {
				return e.Name != nil && *e.Name == name
			})
		}
	}
	return false
}

// SharedEnv are, per container, the variables the operator leaves to
// another writer because that writer already sets a value PostHog reads the
// same way (TRUE for true, a trailing slash on SITE_URL, the same hosts in
// another order): the operator does not fight over spelling. owned holds
// what the operator applied before; a variable it owns stays its own.
func SharedEnv(proxy *proxyv1.PostHogProxy, deployment *appsv1.Deployment, containers []string, owned *appsv1ac.DeploymentApplyConfiguration) map[string]map[string]bool {
	want := map[string]string{}
	for _, e := range Env(proxy) {
		if e.Value != nil {
			want[*e.Name] = *e.Value
		}
	}
	out := map[string]map[string]bool{}
	for _, c := range deployment.Spec.Template.Spec.Containers {
		if !slices.Contains(containers, c.Name) {
			continue
		}
		for _, e := range c.Env {
			ours, ok := want[e.Name]
			if !ok || e.ValueFrom != nil || e.Value == ours || ownsEnv(owned, c.Name, e.Name) || !sameToPostHog(e.Name, e.Value, ours) {
				continue
			}
			if out[c.Name] == nil {
				out[c.Name] = map[string]bool{}
			}
			out[c.Name][e.Name] = true
		}
	}
	return out
}

// sameToPostHog says whether PostHog reads two values of a variable alike.
func sameToPostHog(name, a, b string) bool {
	switch name {
	case EnvIsBehindProxy, EnvDisableSecureSSLRedirect, EnvSecureCookies:
		return postHogBool(a) == postHogBool(b)
	case EnvTrustAllProxies:
		return (a != "") == (b != "")
	case EnvSiteURL:
		return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
	case EnvAllowedHosts:
		return slices.Equal(hostSet(a), hostSet(b))
	}
	return false
}

// postHogBool reads a boolean the way PostHog's settings do.
func postHogBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "t", "true", "on", "1":
		return true
	}
	return false
}

func hostSet(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
