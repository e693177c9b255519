package chain

import (
	"testing"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// With a trusted proxy list that misses one hop, PostHog finds no client
// address and its IP allowlist refuses everyone: what the topology rows
// would report for a wrong list, shown here on purpose.
func TestTrustedListMissingAHopFindsNoClient(t *testing.T) {
	t.Cleanup(func() { applyProxy(t, nil) })
	proxy := applyProxy(t, func(s *proxyv1.PostHogProxySpec) {
		s.TLS.Termination = proxyv1.TLSAtLoadBalancer
		s.TrustedProxies.Addresses = []proxyv1.AddressOrRange{apacheSource} // NGINX's address is missing
	})
	e := startEdge(t, proxy, edgeSpec{kind: "nginx", addr: nginxAddr, upstream: traefik.web})
	a := waitForPostHog(t, visitor{allowedClient, nginxAddr}, baseURL("https", e.httpsAddr())+"/api/projects/")
	if a.status != 403 || a.decision.ClientIP != "" {
		t.Errorf("with NGINX untrusted PostHog answered %d for client %q; want 403 and no client", a.status, a.decision.ClientIP)
	}
}
