package desired

import (
	"fmt"
	"maps"
	"testing"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

func TestIngress(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*proxyv1.PostHogProxy)
		// wantSpec is the whole Ingress spec, so that a stray field fails.
		wantSpec        string
		wantAnnotations map[string]string
	}{
		{
			name:   "TLS at the ingress: a tls section with the host and the secret",
			modify: func(*proxyv1.PostHogProxy) {},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `],
				"tls": [{"hosts": ["posthog.example.com"], "secretName": "posthog-tls"}]
			}`,
		},
		{
			name: "several hosts: one rule each, in order, all in the tls section",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.Hosts = []proxyv1.Hostname{"posthog.example.com", "app.example.com", "eu.example.org"}
			},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` +
				rule("posthog.example.com", `{"number": 8000}`) + `,` +
				rule("app.example.com", `{"number": 8000}`) + `,` +
				rule("eu.example.org", `{"number": 8000}`) + `],
				"tls": [{
					"hosts": ["posthog.example.com", "app.example.com", "eu.example.org"],
					"secretName": "posthog-tls"
				}]
			}`,
		},
		{
			name: "TLS at a load balancer: no tls section",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtLoadBalancer}
			},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `]
			}`,
		},
		{
			name: "no TLS: no tls section",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSNone}
			},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `]
			}`,
		},
		{
			// Only an absent ingressClassName selects the cluster's default class.
			name:   "empty className: no ingressClassName",
			modify: func(p *proxyv1.PostHogProxy) { p.Spec.Ingress.ClassName = "" },
			wantSpec: `{
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `],
				"tls": [{"hosts": ["posthog.example.com"], "secretName": "posthog-tls"}]
			}`,
		},
		{
			name: "port by name: only the name in the backend",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.Ingress.Service.Port = proxyv1.BackendPort{Name: "http"}
			},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"name": "http"}`) + `],
				"tls": [{"hosts": ["posthog.example.com"], "secretName": "posthog-tls"}]
			}`,
		},
		{
			name: "annotations are passed through",
			modify: func(p *proxyv1.PostHogProxy) {
				p.Spec.Ingress.Annotations = map[string]string{
					"nginx.ingress.kubernetes.io/proxy-body-size": "20m",
					"cert-manager.io/cluster-issuer":              "letsencrypt",
				}
			},
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `],
				"tls": [{"hosts": ["posthog.example.com"], "secretName": "posthog-tls"}]
			}`,
			wantAnnotations: map[string]string{
				"nginx.ingress.kubernetes.io/proxy-body-size": "20m",
				"cert-manager.io/cluster-issuer":              "letsencrypt",
			},
		},
		{
			// An empty map would make the operator own an empty annotations field.
			name:   "empty annotations map: no annotations at all",
			modify: func(p *proxyv1.PostHogProxy) { p.Spec.Ingress.Annotations = map[string]string{} },
			wantSpec: `{
				"ingressClassName": "nginx",
				"rules": [` + rule("posthog.example.com", `{"number": 8000}`) + `],
				"tls": [{"hosts": ["posthog.example.com"], "secretName": "posthog-tls"}]
			}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			tt.modify(proxy)

			got := Ingress(proxy)

			if deref(got.APIVersion) != "networking.k8s.io/v1" || deref(got.Kind) != "Ingress" {
				t.Errorf("type is %s %s, want networking.k8s.io/v1 Ingress", deref(got.APIVersion), deref(got.Kind))
			}
			if deref(got.Namespace) != "analytics" || deref(got.Name) != "posthog" {
				t.Errorf("object is %s/%s, want analytics/posthog", deref(got.Namespace), deref(got.Name))
			}
			wantLabels := map[string]string{
				"app.kubernetes.io/managed-by":       "posthog-proxy-operator",
				"proxy.posthog-operator.io/instance": "posthog",
			}
			if !maps.Equal(got.Labels, wantLabels) {
				t.Errorf("labels = %v, want exactly %v (never the PostHogProxy's own)", got.Labels, wantLabels)
			}
			if tt.wantAnnotations == nil {
				if got.Annotations != nil {
					t.Errorf("annotations = %#v, want a nil map", got.Annotations)
				}
			} else if !maps.Equal(got.Annotations, tt.wantAnnotations) {
				t.Errorf("annotations = %v, want %v", got.Annotations, tt.wantAnnotations)
			}
			assertJSON(t, got.OwnerReferences, `[{
				"apiVersion": "proxy.posthog-operator.io/v1alpha1",
				"kind": "PostHogProxy",
				"name": "posthog",
				"uid": "6f1c2a4e-0d1b-4c4e-9d55-2b7a3c9e8f10",
				"controller": true,
				"blockOwnerDeletion": true
			}]`)
			assertJSON(t, got.Spec, tt.wantSpec)
		})
	}
}

// rule is the JSON of an Ingress rule sending every path of host to the
// posthog-web Service at port.
func rule(host, port string) string {
	return fmt.Sprintf(`{
		"host": %q,
		"http": {"paths": [{
			"path": "/",
			"pathType": "Prefix",
			"backend": {"service": {"name": "posthog-web", "port": %s}}
		}]}
	}`, host, port)
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
