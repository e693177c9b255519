package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// Every validation rule rejects its bad input at the API server with a
// message that names the field and the fix.
func TestValidationRulesRejectBadInputWithTheirMessage(t *testing.T) {
	ns := newNamespace(t)
	tests := []struct {
		name   string
		mutate func(*proxyv1.PostHogProxy)
		want   string
	}{
		{"/0 network", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"0.0.0.0/0"}
		}, "spec.trustedProxies.addresses must not hold a /0 network: it trusts every client"},
		{"IPv6 /0 network", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"::/0"}
		}, "spec.trustedProxies.addresses must not hold a /0 network"},
		{"network wider than /8", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"0.0.0.0/1"}
		}, "spec.trustedProxies.addresses networks must be /8 or narrower (IPv4) and /16 or narrower (IPv6)"},
		{"multicast network", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"224.0.0.0/8"}
		}, "spec.trustedProxies.addresses networks must not be multicast"},
		{"IPv6 multicast network", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"ff00::/16"}
		}, "spec.trustedProxies.addresses networks must not be multicast"},
		{"unspecified address as a /32", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"0.0.0.0/32"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"broadcast address as a /32", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"255.255.255.255/32"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"network with host bits", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.1.2.3/8"}
		}, "spec.trustedProxies.addresses networks must be written with their network address, such as 10.0.0.0/8"},
		{"hostname as a trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"ingress.local"}
		}, "spec.trustedProxies.addresses entries must be IP addresses such as 10.0.0.7 or networks such as 10.0.0.0/16"},
		{"IPv4-mapped IPv6 trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"::ffff:10.0.0.1"}
		}, "write ::ffff:10.0.0.1 as 10.0.0.1"},
		{"address with a port", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.1:443"}
		}, "spec.trustedProxies.addresses entries must be IP addresses"},
		{"unknown matching rule", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Matching = "Prefix"
		}, `spec.trustedProxies.matching: Unsupported value: "Prefix": supported values: "Exact", "Network"`},
		{"bad Service namespace", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: "Ingress_Nginx", Name: "controller"}}
		}, "spec.trustedProxies.services[].namespace must be a namespace name"},
		{"bad Service name", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: "ingress-nginx", Name: "1controller"}}
		}, "spec.trustedProxies.services[].name must be a Service name"},
		{"Service without a namespace", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Name: "controller"}}
		}, "spec.trustedProxies.services[0].namespace in body should be at least 1 chars long"},
		{"duplicate Service", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: "a", Name: "b"}, {Namespace: "a", Name: "b"}}
		}, "spec.trustedProxies.services[1]: Duplicate value"},
		{"bad preset name", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"CloudFlare"}
		}, "spec.trustedProxies.presets entries must be preset names such as cloudflare"},
		{"rollout window too long", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Rollout.Window = &metav1.Duration{Duration: 2 * time.Hour}
		}, "spec.trustedProxies.rollout.window must be between 0s and 1h"},
		{"negative grace", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Rollout.Grace = &metav1.Duration{Duration: -time.Minute}
		}, "spec.trustedProxies.rollout.grace must be between 0s and 24h"},
		{"unspecified IPv4 trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"0.0.0.0"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"unspecified IPv6 trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"::"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"broadcast trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"255.255.255.255"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"multicast trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"ff02::1"}
		}, "spec.trustedProxies.addresses entries must be unicast addresses a proxy can have"},
		{"duplicate trusted address", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.1", "10.0.0.1"}
		}, `spec.trustedProxies.addresses[1]: Duplicate value: "10.0.0.1"`},
		{"list policy without addresses", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = nil
		}, "spec.trustedProxies needs at least one source when spec.trustedProxies.policy is List"},
		{"trust-all together with addresses", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Policy = proxyv1.TrustAll
		}, "spec.trustedProxies.addresses, services and presets must be empty when spec.trustedProxies.policy is TrustAll"},
		{"trust-all together with a Service", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll,
				Services: []proxyv1.ServiceReference{{Namespace: "ingress-nginx", Name: "controller"}}}
		}, "spec.trustedProxies.addresses, services and presets must be empty when spec.trustedProxies.policy is TrustAll"},
		{"unknown trust policy", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Policy = "Everyone"
		}, `spec.trustedProxies.policy: Unsupported value: "Everyone": supported values: "List", "TrustAll"`},
		{"host with a scheme", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"https://posthog.example.com"}
		}, "spec.hosts entries must be lower-case DNS names such as posthog.example.com"},
		{"upper-case host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"PostHog.example.com"}
		}, "spec.hosts entries must be lower-case DNS names"},
		{"wildcard host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"*.example.com"}
		}, "without scheme, port, path or wildcard"},
		{"host label over 63 characters", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname(strings.Repeat("a", 64) + ".example.com")}
		}, "spec.hosts entries must have DNS labels of at most 63 characters"},
		{"IP address as host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"10.0.0.1"}
		}, "spec.hosts entries must end in a name, not a number"},
		{"IP address with leading zeros as host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"010.0.0.1"}
		}, "spec.hosts entries must end in a name, not a number"},
		{"short IPv4 form as host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"127.1"}
		}, "spec.hosts entries must end in a name, not a number"},
		{"no hosts", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = nil
		}, "spec.hosts: Required value"},
		{"duplicate host", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"posthog.example.com", "posthog.example.com"}
		}, `spec.hosts[1]: Duplicate value: "posthog.example.com"`},
		{"no targets", func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets = nil
		}, "spec.targets: Required value"},
		{"bad Deployment name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets = []proxyv1.TargetDeployment{{Name: "PostHog_Web"}}
		}, "spec.targets[].name must be a Deployment name"},
		{"duplicate target", func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets = []proxyv1.TargetDeployment{{Name: "web"}, {Name: "web"}}
		}, `spec.targets[1]: Duplicate value: {"name":"web"}`},
		{"bad container name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets[0].Containers = []proxyv1.ContainerName{"posthog.web"}
		}, "spec.targets[].containers entries must be container names"},
		{"Ingress termination without a secret", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS.SecretName = ""
		}, "spec.tls.secretName is required when spec.tls.termination is Ingress"},
		{"secret with load balancer termination", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS.Termination = proxyv1.TLSAtLoadBalancer
		}, "spec.tls.secretName is only used when spec.tls.termination is Ingress"},
		{"unknown termination", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS = proxyv1.TLS{Termination: "Edge"}
		}, `spec.tls.termination: Unsupported value: "Edge"`},
		{"bad secret name", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS.SecretName = "PostHog TLS"
		}, "spec.tls.secretName must be a Secret name"},
		{"port by number and name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Number: 8000, Name: "http"}
		}, "spec.ingress.service.port needs exactly one of number or name"},
		{"port by neither", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{}
		}, "spec.ingress.service.port needs exactly one of number or name"},
		{"port out of range", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Number: 70000}
		}, "spec.ingress.service.port.number: Invalid value: 70000: spec.ingress.service.port.number in body should be less than or equal to 65535"},
		{"bad port name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "HTTP"}
		}, "spec.ingress.service.port.name must be a port name"},
		{"port name without a letter", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "8000"}
		}, "spec.ingress.service.port.name must be a port name"},
		{"port name with a double hyphen", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "a--b"}
		}, "spec.ingress.service.port.name must be a port name"},
		{"bad Service name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Name = "8000-web"
		}, "spec.ingress.service.name must be a Service name"},
		{"bad IngressClass name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.ClassName = "Nginx Public"
		}, "spec.ingress.className must be an IngressClass name"},
		{"bad annotation key", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"proxy body size": "20m"}
		}, "spec.ingress.annotations keys must be annotation names"},
		{"oversize annotation value", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"example.com/x": proxyv1.AnnotationValue(strings.Repeat("x", 4097))}
		}, "Too long: may not be more than 1024 bytes"},
		{"annotation name part over 63 characters", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"example.com/" + strings.Repeat("n", 64): "x"}
		}, "spec.ingress.annotations keys must have a name of at most 63 characters"},
		{"annotation prefix over 253 characters", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{strings.Repeat("a", 254) + "/x": "x"}
		}, "spec.ingress.annotations keys must have a name of at most 63 characters after the '/' and a prefix of at most 253"},
		{"too many annotations", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{}
			for i := range 33 {
				p.Spec.Ingress.Annotations[fmt.Sprintf("example.com/a%d", i)] = "x"
			}
		}, "spec.ingress.annotations: Too many: 33: must have at most 32 items"},
		{"configuration snippet annotation", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers x;"}
		}, "spec.ingress.annotations must not inject configuration into the ingress controller or change how it matches paths: *-snippet"},
		{"server snippet annotation, any case", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/Server-Snippet": "x"}
		}, "spec.ingress.annotations must not inject configuration"},
		{"haproxy backend snippet", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"haproxy.org/backend-config-snippet": "x"}
		}, "spec.ingress.annotations must not inject configuration"},
		{"haproxy-ingress config-backend", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"haproxy-ingress.github.io/config-backend": "x"}
		}, "spec.ingress.annotations must not inject configuration into the ingress controller or change how it matches paths"},
		{"nginx use-regex", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/use-regex": "true"}
		}, "spec.ingress.annotations must not inject configuration"},
		{"a newline in an annotation value", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/proxy-body-size": "25m;\n}"}
		}, "spec.ingress.annotations values must not contain control characters"},
		{"Split without a private class or source ranges", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
		}, "spec.ingress.exposure Split needs spec.ingress.private.className (an internal ingress controller) or private.sourceRanges"},
		{"a /0 source range", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
			p.Spec.Ingress.Controller = proxyv1.ControllerNginx
			p.Spec.Ingress.Private = &proxyv1.PrivateIngress{SourceRanges: []proxyv1.SourceRange{"0.0.0.0/0"}}
		}, "spec.ingress.private.sourceRanges must not hold a /0 network"},
		{"cert-manager without a Secret", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Controller = proxyv1.ControllerALB
			p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtIngress, CertManager: &proxyv1.CertManagerIssuer{Name: "letsencrypt"}}
		}, "spec.tls.certManager needs spec.tls.secretName"},
		{"nginx auth-url", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/auth-url": "http://x"}
		}, "spec.ingress.annotations must not inject configuration"},
		{"nginx mirror target", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/mirror-target": "http://x"}
		}, "spec.ingress.annotations must not inject configuration"},
		{"unknown ingress controller", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Controller = "envoy"
		}, `spec.ingress.controller: Unsupported value: "envoy"`},
		{"private Ingress without Split", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Private = &proxyv1.PrivateIngress{ClassName: "internal"}
		}, "spec.ingress.private is only used when spec.ingress.exposure is Split"},
		{"source ranges a controller cannot enforce", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
			p.Spec.Ingress.Controller = proxyv1.ControllerTraefik
			p.Spec.Ingress.Private = &proxyv1.PrivateIngress{SourceRanges: []proxyv1.SourceRange{"10.0.0.0/8"}}
		}, "spec.ingress.private.sourceRanges cannot be enforced by an annotation with controller traefik, gce or generic"},
		{"bad source range", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
			p.Spec.Ingress.Controller = proxyv1.ControllerNginx
			p.Spec.Ingress.Private = &proxyv1.PrivateIngress{SourceRanges: []proxyv1.SourceRange{"10.1.2.3/8"}}
		}, "spec.ingress.private.sourceRanges entries must be networks written with their network address"},
		{"public path with a wildcard", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.PublicPaths = []proxyv1.PublicPath{"/api/*"}
		}, "spec.ingress.publicPaths entries must be paths such as /api/surveys"},
		{"public path with ..", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.PublicPaths = []proxyv1.PublicPath{"/static/../admin"}
		}, "spec.ingress.publicPaths entries must not contain '.' or '..' segments"},
		{"body size too small", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.MaxBodySize = ptr.To(resource.MustParse("512Ki"))
		}, "spec.ingress.maxBodySize must be more than 1Mi and at most 1Gi"},
		{"cert-manager without TLS at the Ingress", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSNone, CertManager: &proxyv1.CertManagerIssuer{Name: "letsencrypt"}}
		}, "spec.tls.certManager is only used when spec.tls.termination is Ingress"},
		{"unknown siteURL policy", func(p *proxyv1.PostHogProxy) {
			p.Spec.SiteURL = "Custom"
		}, `spec.siteURL: Unsupported value: "Custom"`},
		{"unknown allowedHosts policy", func(p *proxyv1.PostHogProxy) {
			p.Spec.AllowedHosts = "Any"
		}, `spec.allowedHosts: Unsupported value: "Any"`},
		{"name too long for its children", func(p *proxyv1.PostHogProxy) {
			p.Name = strings.Repeat("p", 64)
		}, "metadata.name must be at most 63 characters"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sampleProxy(ns, fmt.Sprintf("bad-%d", i))
			tt.mutate(p)
			err := k8sClient.Create(context.Background(), p)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want the API server to reject it as invalid, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not say %q:\n%v", tt.want, err)
			}
		})
	}
}

// The good inputs next to the bad ones are accepted, and defaults apply.
func TestValidationAcceptsGoodInputAndDefaults(t *testing.T) {
	ns := newNamespace(t)
	tests := []struct {
		name   string
		mutate func(*proxyv1.PostHogProxy)
	}{
		{"sample", func(*proxyv1.PostHogProxy) {}},
		{"IPv6 in any spelling", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"2001:DB8:0:0::1", "::1"}
		}},
		{"networks, a Service and a preset", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.0/8", "2001:db8::/32", "10.0.0.1/32"}
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}}
			p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"cloudflare"}
			p.Spec.TrustedProxies.Matching = proxyv1.MatchNetwork
		}},
		{"only a Service", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = nil
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}}
		}},
		{"Split with source ranges on nginx, cert-manager, extra public paths", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
			p.Spec.Ingress.Controller = proxyv1.ControllerNginx
			// Short IPv6 networks too: fd00::/8 is 8 characters.
			p.Spec.Ingress.Private = &proxyv1.PrivateIngress{ClassName: "nginx-internal", SourceRanges: []proxyv1.SourceRange{"10.0.0.0/8", "2001:db8::/32", "fd00::/8", "::1/128"}}
			p.Spec.Ingress.PublicPaths = []proxyv1.PublicPath{"/api/surveys/", "/static/toolbar.js"}
			p.Spec.Ingress.MaxBodySize = ptr.To(resource.MustParse("64Mi"))
			p.Spec.TLS.CertManager = &proxyv1.CertManagerIssuer{Name: "letsencrypt"}
		}},
		{"alb with TLS at the Ingress and no Secret (ACM)", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Controller = proxyv1.ControllerALB
			p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtIngress}
		}},
		{"rollout window 0", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Rollout.Window = &metav1.Duration{}
		}},
		{"loopback and link-local peers (sidecar proxies)", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"127.0.0.1", "fe80::1", "169.254.1.1"}
		}},
		{"hosts with digits in their labels", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"ph1.example.com", "10-0-0-1.nip.example.com"}
		}},
		{"port name with digits and a hyphen", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "http-8000"}
		}},
		{"trust-all alone", func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}
		}},
		{"load balancer termination", func(p *proxyv1.PostHogProxy) {
			p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtLoadBalancer}
		}},
		{"port by name", func(p *proxyv1.PostHogProxy) {
			p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "http"}
		}},
		{"several hosts and annotations", func(p *proxyv1.PostHogProxy) {
			p.Spec.Hosts = []proxyv1.Hostname{"posthog.example.com", "eu.posthog.example.com"}
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/proxy-body-size": "20m", "team": "analytics"}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sampleProxy(ns, fmt.Sprintf("good-%d", i))
			tt.mutate(p)
			if err := k8sClient.Create(context.Background(), p); err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if p.Spec.AllowedHosts != proxyv1.AllowedHostsFromHosts {
				t.Errorf("spec.allowedHosts defaulted to %q, want Hosts", p.Spec.AllowedHosts)
			}
			if p.Spec.TrustedProxies.Policy == "" || p.Spec.TrustedProxies.Matching == "" {
				t.Errorf("spec.trustedProxies.policy or matching was not defaulted: %+v", p.Spec.TrustedProxies)
			}
			if r := p.Spec.TrustedProxies.Rollout; r.Grace == nil || r.Window == nil {
				t.Errorf("spec.trustedProxies.rollout was not defaulted: %+v", r)
			}
		})
	}
}
