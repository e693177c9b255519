package oracle

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestDecide(t *testing.T) {
	behind := map[string]string{
		"IS_BEHIND_PROXY": "true", "TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2", "ALLOWED_HOSTS": "posthog.example.com,.eu.example.com",
		"ALLOWED_IP_BLOCKS": "203.0.113.0/24",
	}
	lb := map[string]string{"DISABLE_SECURE_SSL_REDIRECT": "true"}
	for k, v := range behind {
		lb[k] = v
	}
	cases := []struct {
		name           string
		env            map[string]string
		tls            bool
		path, host     string
		headers        map[string]string
		peer           string
		status         int
		clientIP       string
		scheme, target string
	}{
		{name: "https through trusted hops", env: behind, path: "/api/x", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-For": "203.0.113.5, 10.0.0.2", "X-Forwarded-Proto": "https"},
			status:  200, clientIP: "203.0.113.5", scheme: "https"},
		{name: "untrusted hop: no client, refused", env: behind, path: "/api/x", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-For": "203.0.113.5, 198.51.100.1", "X-Forwarded-Proto": "https"},
			status:  403, scheme: "https"},
		{name: "public endpoint passes the IP allowlist", env: behind, path: "/e/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.1", "X-Forwarded-Proto": "https"}, status: 200, scheme: "https"},
		{name: "plain HTTP is redirected", env: behind, path: "/login?next=/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "http"},
			status:  301, clientIP: "203.0.113.5", scheme: "http", target: "https://posthog.example.com/login?next=/"},
		{name: "first X-Forwarded-Proto value decides", env: behind, path: "/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-Proto": "http, https"}, status: 301, clientIP: "10.0.0.1", scheme: "http",
			target: "https://posthog.example.com/"},
		{name: "redirect disabled behind a TLS load balancer", env: lb, path: "/e/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-Proto": "http"}, status: 200, clientIP: "10.0.0.1", scheme: "http"},
		{name: "forwarded host is checked", env: behind, path: "/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-Host": "evil.example.org", "X-Forwarded-Proto": "https"}, status: 400, clientIP: "10.0.0.1", scheme: "https"},
		{name: "two forwarded hosts are no host", env: behind, path: "/", host: "posthog.example.com", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-Host": "posthog.example.com, posthog.example.com", "X-Forwarded-Proto": "https"}, status: 400, clientIP: "10.0.0.1", scheme: "https"},
		{name: "subdomain pattern and port", env: behind, path: "/e", host: "a.eu.example.com:8443", peer: "10.0.0.1",
			headers: map[string]string{"X-Forwarded-Proto": "https"}, status: 200, clientIP: "10.0.0.1", scheme: "https"},
		{name: "health check before host and redirect", env: behind, path: "/_health", host: "10.1.2.3:8000", peer: "10.1.0.1",
			status: 200, clientIP: "10.1.0.1", scheme: "http"},
		{name: "not behind a proxy: headers ignored", env: map[string]string{"SECURE_COOKIES": "false"}, path: "/", host: "anything", peer: "198.51.100.7",
			headers: map[string]string{"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil"},
			status:  200, clientIP: "198.51.100.7", scheme: "http"},
		{name: "TLS to PostHog itself", env: map[string]string{}, tls: true, path: "/", host: "h", peer: "198.51.100.7",
			status: 200, clientIP: "198.51.100.7", scheme: "https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.Host = c.host
			r.RemoteAddr = c.peer + ":40000"
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			d := FromEnv(c.env, Exact).Decide(r)
			if d.Status != c.status || d.ClientIP != c.clientIP || d.Scheme != c.scheme || d.Location != c.target {
				t.Errorf("got status %d client %q scheme %s location %q; want %d %q %s %q",
					d.Status, d.ClientIP, d.Scheme, d.Location, c.status, c.clientIP, c.scheme, c.target)
			}
		})
	}
}
