package desired

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// ingressPreset writes the same intent in one ingress controller's terms.
type ingressPreset struct {
	// annotations for an Ingress of a role.
	annotations func(proxy *proxyv1.PostHogProxy, role string) map[string]string
	// globPaths: the controller matches "/x/*" globs (ImplementationSpecific)
	// rather than the Prefix and Exact path types.
	globPaths bool
}

var ingressPresets = map[proxyv1.IngressController]ingressPreset{
	proxyv1.ControllerNginx:   {annotations: nginxAnnotations},
	proxyv1.ControllerTraefik: {annotations: traefikAnnotations},
	proxyv1.ControllerHAProxy: {annotations: haproxyAnnotations},
	proxyv1.ControllerALB:     {annotations: albAnnotations},
	proxyv1.ControllerGCE:     {annotations: noAnnotations, globPaths: true},
	proxyv1.ControllerGeneric: {annotations: noAnnotations},
}

func presetFor(proxy *proxyv1.PostHogProxy) ingressPreset {
	if p, ok := ingressPresets[proxy.Spec.Ingress.Controller]; ok {
		return p
	}
	return ingressPresets[proxyv1.ControllerGeneric]
}

// pathRules are the Ingress paths that match an endpoint and everything
// below it but no longer name (/s and /s/..., not /static), a file exactly,
// or with path "/" everything.
func (p ingressPreset) pathRules(path string) []pathRule {
	switch {
	case p.globPaths && path == "/":
		return []pathRule{{"/*", networkingv1.PathTypeImplementationSpecific}}
	case p.globPaths && IsFilePath(path):
		return []pathRule{{path, networkingv1.PathTypeImplementationSpecific}}
	case p.globPaths:
		return []pathRule{{path, networkingv1.PathTypeImplementationSpecific}, {path + "/*", networkingv1.PathTypeImplementationSpecific}}
	case path == "/":
		return []pathRule{{path, networkingv1.PathTypePrefix}}
	case IsFilePath(path):
		return []pathRule{{path, networkingv1.PathTypeExact}}
	default:
		// The Ingress API's Prefix matches by path element, so /s alone would
		// do; but some controllers (Traefik, unless strictPrefixMatching)
		// compare strings, where /s also matches /settings. /s exactly and
		// the prefix /s/ mean the same under both readings.
		return []pathRule{{path, networkingv1.PathTypeExact}, {path + "/", networkingv1.PathTypePrefix}}
	}
}

func noAnnotations(*proxyv1.PostHogProxy, string) map[string]string { return map[string]string{} }

func nginxAnnotations(proxy *proxyv1.PostHogProxy, role string) map[string]string {
	out := map[string]string{
		// ingress-nginx refuses bodies over 1m by default; recordings are
		// larger.
		"nginx.ingress.kubernetes.io/proxy-body-size": fmt.Sprintf("%dm", MaxBodySizeMiB(proxy)),
		// HTTPS is redirected at the layer that terminates TLS, and only there.
		"nginx.ingress.kubernetes.io/ssl-redirect": fmt.Sprint(proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress),
	}
	if ranges := sourceRanges(proxy, role); ranges != "" {
		out["nginx.ingress.kubernetes.io/whitelist-source-range"] = ranges
	}
	return out
}

func traefikAnnotations(proxy *proxyv1.PostHogProxy, _ string) map[string]string {
	out := map[string]string{}
	if proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress {
		out["traefik.ingress.kubernetes.io/router.tls"] = "true"
	}
	return out
}

func haproxyAnnotations(proxy *proxyv1.PostHogProxy, role string) map[string]string {
	out := map[string]string{
		"haproxy.org/ssl-redirect": fmt.Sprint(proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress),
	}
	if ranges := sourceRanges(proxy, role); ranges != "" {
		out["haproxy.org/allow-list"] = ranges
	}
	return out
}

func albAnnotations(proxy *proxyv1.PostHogProxy, role string) map[string]string {
	scheme := "internet-facing"
	if role == RolePrivate {
		scheme = "internal"
	}
	out := map[string]string{
		"alb.ingress.kubernetes.io/scheme":      scheme,
		"alb.ingress.kubernetes.io/target-type": "ip",
		// The default health check path is "/", which PostHog redirects.
		"alb.ingress.kubernetes.io/healthcheck-path": "/_health",
		"alb.ingress.kubernetes.io/listen-ports":     `[{"HTTP":80}]`,
	}
	if proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress {
		// The ALB is the Ingress: it terminates TLS (certificates from ACM,
		// found by host) and redirects HTTP.
		out["alb.ingress.kubernetes.io/listen-ports"] = `[{"HTTP":80},{"HTTPS":443}]`
		out["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
	}
	if ranges := sourceRanges(proxy, role); ranges != "" {
		out["alb.ingress.kubernetes.io/inbound-cidrs"] = ranges
	}
	return out
}

// sourceRanges of the private Ingress, comma-separated; validated as CIDRs
// by the schema before they reach an annotation.
func sourceRanges(proxy *proxyv1.PostHogProxy, role string) string {
	p := proxy.Spec.Ingress.Private
	if role != RolePrivate || p == nil {
		return ""
	}
	ranges := make([]string, len(p.SourceRanges))
	for i, r := range p.SourceRanges {
		ranges[i] = string(r)
	}
	return strings.Join(ranges, ",")
}

// DefaultMaxBodySizeMiB is spec.ingress.maxBodySize's default, in MiB.
const DefaultMaxBodySizeMiB = 25

// MaxBodySizeMiB is spec.ingress.maxBodySize in whole MiB, rounded up.
func MaxBodySizeMiB(proxy *proxyv1.PostHogProxy) int64 {
	q := proxy.Spec.Ingress.MaxBodySize
	if q == nil {
		return DefaultMaxBodySizeMiB
	}
	const mib = 1 << 20
	return (q.Value() + mib - 1) / mib
}
