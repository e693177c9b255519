package chain

import (
	"testing"
	"time"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// Switching to Split moves the app and API to the internal ingress
// controller while both keep running: the public one then refuses them and
// still serves the public endpoints; PostHog's own IP allowlist still
// applies behind the internal one; an edge proxy rendered for Split refuses
// them before they reach anything.
func TestSplitChangesRoutingLive(t *testing.T) {
	t.Cleanup(func() { applyProxy(t, nil) })
	applyProxy(t, nil)
	public, internal := baseURL("http", traefik.web), baseURL("http", traefikInternal.web)
	honest, other := visitor{allowedClient, "127.0.0.1"}, visitor{otherClient, "127.0.0.1"}
	waitForPostHog(t, honest, public+"/api/projects/")
	pids := []int{traefik.pid(), traefikInternal.pid()}

	proxy := applyProxy(t, func(s *proxyv1.PostHogProxySpec) {
		s.Ingress.Exposure = proxyv1.ExposeSplit
		s.Ingress.Private = &proxyv1.PrivateIngress{ClassName: internalClass}
	})
	waitFor(t, "the public ingress controller to stop serving the app", func() bool {
		a := honest.get(t, public+"/api/projects/", nil)
		return a.status == 404 && a.decision == nil
	})
	if a := other.get(t, public+"/e/", nil); a.status != 200 || a.decision == nil {
		t.Errorf("/e/ on the public ingress controller got %d, want PostHog's 200", a.status)
	}
	if a := other.get(t, public+"/settings", nil); a.status != 404 || a.decision != nil {
		t.Errorf("/settings, a longer name than /s, got %d on the public ingress controller, want its 404", a.status)
	}
	a := waitForPostHog(t, honest, internal+"/api/projects/")
	if a.status != 200 || a.decision.ClientIP != allowedClient {
		t.Errorf("the app on the internal ingress controller got %d for client %q, want 200 for %s", a.status, a.decision.ClientIP, allowedClient)
	}
	if a := other.get(t, internal+"/api/projects/", nil); a.status != 403 || a.decision == nil || a.decision.ClientIP != otherClient {
		t.Errorf("a client outside ALLOWED_IP_BLOCKS got %d on the internal ingress controller, want PostHog's 403", a.status)
	}

	for _, spec := range []edgeSpec{{kind: "nginx", addr: nginxAddr, upstream: traefik.web}, {kind: "apache", addr: apacheAddr, upstream: traefik.web}} {
		edge := startEdge(t, proxy, spec)
		atEdge, base := visitor{otherClient, spec.addr}, baseURL("http", edge.httpAddr())
		before := posthog.requests()
		for _, path := range []string{"/api/projects/", "/settings", "/s/../api/projects/", "/s/%2e%2e/api/projects/", "//api/projects/", "/S/"} {
			if a := atEdge.get(t, base+path, nil); a.status != 403 || a.decision != nil {
				t.Errorf("%s through the Split %s got %d (from PostHog: %v), want the proxy's 403", path, spec.kind, a.status, a.decision != nil)
			}
		}
		if posthog.requests() != before {
			t.Errorf("a request the Split %s refused reached PostHog", spec.kind)
		}
		for _, path := range []string{"/s/", "/e", "/static/array.js", "/%65/"} {
			if a := atEdge.get(t, base+path, nil); a.status != 200 || a.decision == nil {
				t.Errorf("%s through the Split %s got %d, want PostHog's 200", path, spec.kind, a.status)
			}
		}
	}

	for i, p := range []*traefikInstance{traefik, traefikInternal} {
		if p.exited() || p.pid() != pids[i] {
			t.Errorf("%s restarted: routing must follow the Ingresses live", p.name)
		}
	}
}

func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
