package chain

import (
	"os"
	"testing"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// An edge proxy that verifies the ingress controller's certificate refuses
// one its CA did not sign: the request never reaches PostHog. (The topology
// rows show the same proxy passing with the right CA.)
func TestReencryptionRefusesAnUnknownCertificate(t *testing.T) {
	t.Cleanup(func() { applyProxy(t, nil) })
	proxy := applyProxy(t, func(s *proxyv1.PostHogProxySpec) {
		s.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtIngress, SecretName: tlsSecret}
	})
	dir, err := os.MkdirTemp(work, "other-ca-")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := newCertificates(dir, postHogHost)
	if err != nil {
		t.Fatal(err)
	}
	waitForPostHog(t, visitor{allowedClient, "127.0.0.1"}, baseURL("https", traefik.websecure)+"/e/")
	for _, spec := range []edgeSpec{
		{kind: "nginx", addr: nginxAddr, upstream: traefik.websecure, upstreamCA: otherCA.caFile},
		{kind: "apache", addr: apacheAddr, upstream: traefik.websecure, upstreamCA: otherCA.caFile},
	} {
		edge := startEdge(t, proxy, spec)
		before := posthog.requests()
		a := visitor{allowedClient, spec.addr}.get(t, baseURL("https", edge.httpsAddr())+"/e/", nil)
		if a.status < 500 || a.decision != nil || posthog.requests() != before {
			t.Errorf("%s with another CA got %d (from PostHog: %v); want a 5xx from the proxy and nothing at PostHog", spec.kind, a.status, a.decision != nil)
		}
	}
}
