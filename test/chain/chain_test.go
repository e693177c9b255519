package chain

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// entry is where clients reach a chain: the outermost hop's address, the
// base URL of its main entry (HTTPS, or plain HTTP without TLS), and of
// its plain HTTP entry when that is another. With two outer hops, inner is
// the plain HTTP entry of the second, which a client can also try.
type entry struct {
	ip, main, plain string
	inner           *edgeProxy
}

func baseURL(scheme, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return scheme + "://" + postHogHost + ":" + port
}

func edgeEntry(e *edgeProxy) entry {
	return entry{ip: e.addr, main: baseURL("https", e.httpsAddr()), plain: baseURL("http", e.httpAddr())}
}

// topology is one chain of proxies in front of Traefik and PostHog.
type topology struct {
	name        string
	termination proxyv1.TLSTermination
	// start starts the outer proxies, innermost first.
	start func(t *testing.T, proxy *proxyv1.PostHogProxy) entry
	// scheme is what PostHog must believe for a request to the main entry.
	scheme string
	// forwardedFor is the X-Forwarded-For PostHog must receive from
	// allowedClient: the client, then every hop but the last, each with
	// its own address.
	forwardedFor []string
}

var topologies = []topology{
	{
		name: "direct to the ingress controller", termination: proxyv1.TLSNone, scheme: "http",
		start: func(*testing.T, *proxyv1.PostHogProxy) entry {
			return entry{ip: "127.0.0.1", main: baseURL("http", traefik.web)}
		},
		forwardedFor: []string{allowedClient},
	},
	{
		name: "TLS at the ingress controller", termination: proxyv1.TLSAtIngress, scheme: "https",
		start: func(*testing.T, *proxyv1.PostHogProxy) entry {
			return entry{ip: "127.0.0.1", main: baseURL("https", traefik.websecure), plain: baseURL("http", traefik.webredirect)}
		},
		forwardedFor: []string{allowedClient},
	},
	{
		name: "TLS at NGINX, plain HTTP inward", termination: proxyv1.TLSAtLoadBalancer, scheme: "https",
		start: func(t *testing.T, proxy *proxyv1.PostHogProxy) entry {
			return edgeEntry(startEdge(t, proxy, edgeSpec{kind: "nginx", addr: nginxAddr, upstream: traefik.web}))
		},
		forwardedFor: []string{allowedClient, nginxAddr},
	},
	{
		name: "TLS at Apache, plain HTTP inward", termination: proxyv1.TLSAtLoadBalancer, scheme: "https",
		start: func(t *testing.T, proxy *proxyv1.PostHogProxy) entry {
			return edgeEntry(startEdge(t, proxy, edgeSpec{kind: "apache", addr: apacheAddr, upstream: traefik.web}))
		},
		forwardedFor: []string{allowedClient, apacheSource},
	},
	{
		name: "TLS at NGINX, verified TLS again to the ingress controller", termination: proxyv1.TLSAtIngress, scheme: "https",
		start: func(t *testing.T, proxy *proxyv1.PostHogProxy) entry {
			return edgeEntry(startEdge(t, proxy, edgeSpec{kind: "nginx", addr: nginxAddr, upstream: traefik.websecure, upstreamCA: certs.caFile}))
		},
		forwardedFor: []string{allowedClient, nginxAddr},
	},
	{
		name: "two outer hops: Apache with TLS, then NGINX", termination: proxyv1.TLSAtLoadBalancer, scheme: "https",
		start: func(t *testing.T, proxy *proxyv1.PostHogProxy) entry {
			return twoHops(t, proxy, edgeSpec{kind: "apache", addr: apacheAddr}, edgeSpec{kind: "nginx", addr: nginxAddr}, apacheSource)
		},
		forwardedFor: []string{allowedClient, apacheSource, nginxAddr},
	},
	{
		name: "two outer hops: NGINX with TLS, then Apache", termination: proxyv1.TLSAtLoadBalancer, scheme: "https",
		start: func(t *testing.T, proxy *proxyv1.PostHogProxy) entry {
			return twoHops(t, proxy, edgeSpec{kind: "nginx", addr: nginxAddr}, edgeSpec{kind: "apache", addr: apacheAddr}, nginxAddr)
		},
		forwardedFor: []string{allowedClient, nginxAddr, apacheSource},
	},
}

// twoHops starts inner in front of Traefik, trusting outer's source
// address, then outer with TLS in front of inner's plain HTTP.
func twoHops(t *testing.T, proxy *proxyv1.PostHogProxy, outer, inner edgeSpec, outerSource string) entry {
	inner.upstream, inner.hops = traefik.web, []string{outerSource}
	second := startEdge(t, proxy, inner)
	outer.upstream = second.httpAddr()
	e := edgeEntry(startEdge(t, proxy, outer))
	e.inner = second
	return e
}

// recordingSize is a session recording upload at its largest.
const recordingSize = 20 << 20

// Each chain, with the configuration the operator generated for it: PostHog
// finds the true client, believes no header a client forged, knows the
// request was HTTPS without looping, and receives a recording upload.
func TestTopologies(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			proxy := applyProxy(t, func(s *proxyv1.PostHogProxySpec) {
				s.TLS.Termination = top.termination
				if top.termination == proxyv1.TLSAtIngress {
					s.TLS.SecretName = tlsSecret
				}
			})
			e := top.start(t, proxy)
			honest, other := visitor{allowedClient, e.ip}, visitor{otherClient, e.ip}
			private := e.main + "/api/projects/?limit=1"

			t.Run("client address", func(t *testing.T) {
				a := waitForPostHog(t, honest, private)
				d := a.decision
				if a.status != 200 || d.ClientIP != allowedClient || d.Peer != hostSide {
					t.Errorf("PostHog answered %d with client %q from peer %s; want 200, %s from Traefik at %s", a.status, d.ClientIP, d.Peer, allowedClient, hostSide)
				}
				if want := strings.Join(top.forwardedFor, ", "); d.XForwardedFor != want {
					t.Errorf("X-Forwarded-For at PostHog is %q, want %q", d.XForwardedFor, want)
				}
				if hostname(d.Host) != postHogHost {
					t.Errorf("PostHog checked host %q, want %s", d.Host, postHogHost)
				}
			})

			t.Run("scheme", func(t *testing.T) {
				if d := honest.get(t, private, nil).decision; d == nil || d.Scheme != top.scheme {
					t.Errorf("PostHog's scheme decision is %+v, want %s", d, top.scheme)
				}
			})

			t.Run("forged headers", func(t *testing.T) {
				// From outside ALLOWED_IP_BLOCKS, claiming an address inside
				// them, another host and the other scheme, in every spelling.
				forged := map[string]string{
					"X-Forwarded-For": forgedClient, "X-Forwarded-Host": "evil.chain.test", "X-Forwarded-Proto": otherScheme(top.scheme),
					"Forwarded": "for=" + forgedClient + ";proto=" + otherScheme(top.scheme), "X-Real-IP": forgedClient,
					"X_Forwarded_For": forgedClient, "X-Forwarded_Proto": otherScheme(top.scheme),
				}
				a := other.get(t, private, forged)
				d := a.decision
				if d == nil || a.status != 403 || d.ClientIP != otherClient || hostname(d.Host) != postHogHost || d.Scheme != top.scheme {
					t.Fatalf("a forged request got %d with %+v; want PostHog's 403 for client %s, host %s, scheme %s", a.status, d, otherClient, postHogHost, top.scheme)
				}
				if d.XRealIP == forgedClient || len(d.Underscored) > 0 || (e.ip != "127.0.0.1" && strings.Contains(d.Forwarded, forgedClient)) {
					t.Errorf("forged headers reached PostHog: X-Real-IP %q, Forwarded %q, with '_': %v", d.XRealIP, d.Forwarded, d.Underscored)
				}
				if e.inner == nil {
					return
				}
				// The second hop believes only the first: a client that
				// reaches it directly is a client, redirected to HTTPS.
				forged["X-Forwarded-Proto"] = "https"
				inner := visitor{otherClient, e.inner.addr}
				if a := inner.get(t, baseURL("http", e.inner.httpAddr())+"/api/projects/", forged); a.status != 301 || a.decision != nil {
					t.Errorf("a client at the second hop claiming HTTPS got %d (from PostHog: %v); want that hop's 301", a.status, a.decision != nil)
				}
			})

			t.Run("redirect", func(t *testing.T) {
				if e.plain == "" {
					final, redirects := honest.follow(t, private)
					if len(redirects) != 0 || final.status != 200 || final.decision == nil {
						t.Errorf("without TLS, PostHog answered %d after redirects %v; want 200 and none", final.status, redirects)
					}
					return
				}
				// Plain HTTP is redirected once, by the proxy that terminates
				// TLS, even when the client claims HTTPS; then it is served.
				a := honest.get(t, e.plain+"/api/projects/?limit=1", map[string]string{"X-Forwarded-Proto": "https"})
				if a.status != 301 || a.decision != nil || a.location != private {
					t.Errorf("plain HTTP got %d to %q (from PostHog: %v); want the proxy's 301 to %s", a.status, a.location, a.decision != nil, private)
				}
				final, redirects := honest.follow(t, e.plain+"/api/projects/?limit=1")
				if len(redirects) != 1 || final.status != 200 || final.decision == nil {
					t.Errorf("following plain HTTP took redirects %v and ended in %d; want one redirect and PostHog's 200", redirects, final.status)
				}
			})

			t.Run("recording upload", func(t *testing.T) {
				a := honest.do(t, "POST", e.main+"/s/?compression=gzip-js", map[string]string{"Content-Type": "text/plain"},
					bytes.NewReader(bytes.Repeat([]byte("r"), recordingSize)))
				if a.status != 200 || a.decision == nil || a.decision.BodyBytes != recordingSize {
					t.Errorf("a %d-byte upload to /s/ got %d (%s); want PostHog's 200 with every byte", recordingSize, a.status, strings.TrimSpace(a.body))
				}
			})

			t.Run("public endpoints", func(t *testing.T) {
				for _, path := range desired.PublicPaths(proxy) {
					if !desired.IsFilePath(path) {
						path += "/?v=3"
					}
					if a := honest.get(t, e.main+path, nil); a.status != 200 || a.decision == nil {
						t.Errorf("%s got %d, want PostHog's 200", path, a.status)
					}
				}
				// PostHog's IP allowlist lets everyone reach ingestion,
				// flags and recordings.
				for _, path := range []string{"/e/?ip=1", "/decide/?v=3", "/s/", "/static/array.js"} {
					if a := other.get(t, e.main+path, nil); a.status != 200 || a.decision == nil {
						t.Errorf("%s from outside ALLOWED_IP_BLOCKS got %d, want PostHog's 200", path, a.status)
					}
				}
			})
		})
	}
}

// waitForPostHog gets url until PostHog answers it, while the ingress
// controller picks up a change: until then it may answer 404, or present
// its default certificate.
func waitForPostHog(t *testing.T, v visitor, url string) answer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := v.try("GET", url, nil, nil)
		if err == nil && a.decision != nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostHog does not answer %s: %d %s %v", url, a.status, strings.TrimSpace(a.body), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hostname is the host PostHog checks against ALLOWED_HOSTS, which ignores
// the port a proxy may have kept.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

func otherScheme(scheme string) string {
	if scheme == "https" {
		return "http"
	}
	return "https"
}
