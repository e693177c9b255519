package desired

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// Ingress roles.
const (
	RoleAll     = "all"
	RolePublic  = "public"
	RolePrivate = "private"
)

// PublicPathsVersion versions the public endpoint preset: what PostHog's
// proxy guide lists, and what newer SDKs call.
const PublicPathsVersion = "posthog-2025.11"

var (
	// publicEndpoints match themselves and everything below them: the
	// guide's ingestion, recording and flag endpoints, and what newer SDKs
	// call (/i for events, /flags, /array for remote config, the surveys
	// and early access APIs they read with the project token).
	publicEndpoints = []string{"/api/early_access_features", "/api/surveys", "/array", "/batch", "/capture", "/decide",
		"/e", "/engage", "/flags", "/i", "/s", "/track"}
	// publicFiles match exactly: the guide's loaders, and the chunks newer
	// SDKs load lazily.
	publicFiles = []string{"/static/array.js", "/static/dead-clicks-autocapture.js", "/static/exception-autocapture.js",
		"/static/lazy-recorder.js", "/static/recorder-v2.js", "/static/recorder.js", "/static/surveys.js",
		"/static/tracing-headers.js", "/static/web-vitals.js"}
)

// IngressPlan is one Ingress the operator keeps, before it becomes an
// apply configuration.
type IngressPlan struct {
	Name  string
	Role  string
	Hosts []string
	Paths []string
}

// IngressPlans are the Ingresses a PostHogProxy calls for, private first:
// switching to Split creates the private Ingress before the public one
// stops serving the app.
// Hosts are the hosts it may serve (see ServedHosts); with none, it keeps
// no Ingress.
func IngressPlans(proxy *proxyv1.PostHogProxy, hosts []string) []IngressPlan {
	if len(hosts) == 0 {
		return nil
	}
	switch EffectiveExposure(proxy) {
	case proxyv1.ExposePublicOnly:
		return []IngressPlan{{Name: IngressName(proxy), Role: RolePublic, Hosts: hosts, Paths: PublicPaths(proxy)}}
	case proxyv1.ExposeSplit:
		return []IngressPlan{
			{Name: PrivateIngressName(proxy), Role: RolePrivate, Hosts: hosts, Paths: []string{"/"}},
			{Name: IngressName(proxy), Role: RolePublic, Hosts: hosts, Paths: PublicPaths(proxy)},
		}
	default:
		return []IngressPlan{{Name: IngressName(proxy), Role: RoleAll, Hosts: hosts, Paths: []string{"/"}}}
	}
}

// PrivateIngressName is the name of the private Ingress with exposure Split.
func PrivateIngressName(proxy *proxyv1.PostHogProxy) string { return proxy.Name + "-private" }

// PublicPaths are the public endpoints and files, the preset's and the
// spec's, sorted: an endpoint is written without a trailing slash, a file
// has an extension in its last segment.
func PublicPaths(proxy *proxyv1.PostHogProxy) []string {
	paths := slices.Concat(publicEndpoints, publicFiles)
	for _, p := range proxy.Spec.Ingress.PublicPaths {
		if s := strings.TrimSuffix(string(p), "/"); s != "" {
			paths = append(paths, s)
		}
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// IsFilePath says whether a public path names a file, which matches exactly,
// rather than an endpoint, which matches everything below it.
func IsFilePath(path string) bool {
	return strings.Contains(path[strings.LastIndex(path, "/")+1:], ".")
}

// Ingress is the apply configuration of one planned Ingress.
func Ingress(proxy *proxyv1.PostHogProxy, plan IngressPlan) *networkingv1ac.IngressApplyConfiguration {
	spec := proxy.Spec
	ing := networkingv1ac.Ingress(plan.Name, proxy.Namespace).
		WithLabels(childLabels(proxy)).
		WithOwnerReferences(ownerReference(proxy))
	if annotations := ingressAnnotations(proxy, plan.Role); len(annotations) > 0 {
		ing.WithAnnotations(annotations)
	}

	ingSpec := networkingv1ac.IngressSpec()
	if class := className(proxy, plan.Role); class != "" {
		ingSpec.WithIngressClassName(class)
	}
	preset := presetFor(proxy)
	var httpPaths []*networkingv1ac.HTTPIngressPathApplyConfiguration
	for _, p := range plan.Paths {
		for _, rule := range preset.pathRules(p) {
			httpPaths = append(httpPaths, networkingv1ac.HTTPIngressPath().
				WithPath(rule.path).WithPathType(rule.pathType).WithBackend(backend(spec.Ingress.Service)))
		}
	}
	hosts := plan.Hosts
	for _, host := range hosts {
		ingSpec.WithRules(networkingv1ac.IngressRule().WithHost(host).
			WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(httpPaths...)))
	}
	if spec.TLS.Termination == proxyv1.TLSAtIngress {
		tls := networkingv1ac.IngressTLS().WithHosts(hosts...)
		if spec.TLS.SecretName != "" {
			tls.WithSecretName(spec.TLS.SecretName)
		}
		ingSpec.WithTLS(tls)
	}
	return ing.WithSpec(ingSpec)
}

func className(proxy *proxyv1.PostHogProxy, role string) string {
	if p := proxy.Spec.Ingress.Private; role == RolePrivate && p != nil && p.ClassName != "" {
		return p.ClassName
	}
	return proxy.Spec.Ingress.ClassName
}

// ingressAnnotations are the preset's annotations for a role, then the
// cert-manager issuer, then the spec's own, which win on a shared key
// except on the private Ingress.
func ingressAnnotations(proxy *proxyv1.PostHogProxy, role string) map[string]string {
	out := presetFor(proxy).annotations(proxy, role)
	if cm := proxy.Spec.TLS.CertManager; cm != nil && proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress {
		key := "cert-manager.io/cluster-issuer"
		if cm.Kind == "Issuer" {
			key = "cert-manager.io/issuer"
		}
		out[key] = cm.Name
	}
	preset := maps.Clone(out)
	for k, v := range proxy.Spec.Ingress.Annotations {
		out[k] = string(v)
	}
	if role == RolePrivate {
		// On the private Ingress the preset's annotations are what keeps
		// it private (scheme, source ranges): no annotation overrides them,
		// under their own key or under another name the controller reads
		// for the same setting.
		for key := range preset {
			for _, alias := range privateAliases[key] {
				delete(out, alias)
			}
		}
		maps.Copy(out, preset)
	}
	return out
}

// privateAliases are, for an annotation a preset writes on the private
// Ingress, the other names its controller reads for the same setting, and
// prefers: ingress-nginx reads allowlist-source-range before the older
// whitelist-source-range, HAProxy's controller reads whitelist as well as
// allow-list.
var privateAliases = map[string][]string{
	"nginx.ingress.kubernetes.io/whitelist-source-range": {"nginx.ingress.kubernetes.io/allowlist-source-range"},
	"haproxy.org/allow-list":                             {"haproxy.org/whitelist"},
}

func backend(svc proxyv1.BackendService) *networkingv1ac.IngressBackendApplyConfiguration {
	port := networkingv1ac.ServiceBackendPort()
	if svc.Port.Name != "" {
		port.WithName(svc.Port.Name)
	} else {
		port.WithNumber(svc.Port.Number)
	}
	return networkingv1ac.IngressBackend().WithService(
		networkingv1ac.IngressServiceBackend().WithName(svc.Name).WithPort(port))
}

// EffectiveExposure is spec.ingress.exposure, All when unset.
func EffectiveExposure(proxy *proxyv1.PostHogProxy) proxyv1.Exposure {
	if proxy.Spec.Ingress.Exposure == "" {
		return proxyv1.ExposeAll
	}
	return proxy.Spec.Ingress.Exposure
}

// pathRule is one path of an Ingress rule.
type pathRule struct {
	path     string
	pathType networkingv1.PathType
}

// ServedHosts are the hosts of a PostHogProxy it may serve, and a problem
// naming those another PostHogProxy, in any namespace, holds. Ingress
// controllers merge the rules of every Ingress for a host, so each host is
// served by one PostHogProxy: the one that serves it now (by its status),
// else the one created first, then the first by namespace and name. So a
// host already served is never taken over by a later edit of another
// resource, and losing one host costs no other.
func ServedHosts(proxy *proxyv1.PostHogProxy, all []proxyv1.PostHogProxy) ([]string, *Problem) {
	var served, lost []string
	for _, host := range hostStrings(proxy) {
		holder := proxy
		for i := range all {
			other := &all[i]
			if other.UID == proxy.UID || !other.DeletionTimestamp.IsZero() ||
				!slices.Contains(other.Spec.Hosts, proxyv1.Hostname(host)) {
				continue
			}
			if wins(other, holder, host) {
				holder = other
			}
		}
		if holder == proxy {
			served = append(served, host)
		} else {
			lost = append(lost, fmt.Sprintf("host %s is already served by PostHogProxy %s/%s", host, holder.Namespace, holder.Name))
		}
	}
	if len(lost) == 0 {
		return served, nil
	}
	return served, &Problem{proxyv1.ReasonHostConflict, strings.Join(lost, "; ") +
		"; this one serves its other hosts only: remove the host from one of them"}
}

// wins says whether a holds a host against b: serving it beats not serving
// it, then the earlier creation, then namespace and name.
func wins(a, b *proxyv1.PostHogProxy, host string) bool {
	if sa, sb := serves(a, host), serves(b, host); sa != sb {
		return sa
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

func serves(p *proxyv1.PostHogProxy, host string) bool {
	return slices.ContainsFunc(p.Status.Ingresses, func(i proxyv1.IngressStatus) bool { return slices.Contains(i.Hosts, host) })
}

// IngressStatuses record the planned Ingresses and the paths they serve.
func IngressStatuses(plans []IngressPlan) []proxyv1.IngressStatus {
	out := make([]proxyv1.IngressStatus, len(plans))
	for i, p := range plans {
		out[i] = proxyv1.IngressStatus{Name: p.Name, Role: p.Role, Hosts: p.Hosts, Paths: p.Paths}
		if p.Role == RolePublic {
			out[i].PathsVersion = PublicPathsVersion
		}
	}
	return out
}
