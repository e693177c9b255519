package edge

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func proxy(exposure proxyv1.Exposure, termination proxyv1.TLSTermination, ranges ...proxyv1.SourceRange) *proxyv1.PostHogProxy {
	p := &proxyv1.PostHogProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog.eu-1", Namespace: "analytics"},
		Spec: proxyv1.PostHogProxySpec{
			Hosts: []proxyv1.Hostname{"posthog.example.com", "eu.posthog.example.com"},
			TLS:   proxyv1.TLS{Termination: termination},
			Ingress: proxyv1.IngressSpec{
				Exposure:    exposure,
				PublicPaths: []proxyv1.PublicPath{"/api/projects/toolbar", "/static/toolbar.js"},
			},
		},
	}
	if exposure == proxyv1.ExposeSplit {
		p.Spec.Ingress.Private = &proxyv1.PrivateIngress{ClassName: "internal", SourceRanges: ranges}
	}
	return p
}

var tlsFiles = Options{CertFile: "/etc/ssl/posthog.pem", KeyFile: "/etc/ssl/posthog.key"}

func with(o Options, f func(*Options)) Options { f(&o); return o }

// Each case is reviewed once by eye in testdata and then held fixed;
// test/chain runs the real nginx -t and apache2ctl -t on the same kinds of
// renderings, and real requests through them.
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		proxy *proxyv1.PostHogProxy
		opts  Options
	}{
		{"all-none-edge", proxy(proxyv1.ExposeAll, proxyv1.TLSNone), Options{Upstream: "ingress.internal:80"}},
		{"all-loadbalancer-edge", proxy(proxyv1.ExposeAll, proxyv1.TLSAtLoadBalancer),
			with(tlsFiles, func(o *Options) { o.Upstream = "10.0.0.5:80" })},
		{"publiconly-ingress-behind-cdn", proxy(proxyv1.ExposePublicOnly, proxyv1.TLSAtIngress),
			with(tlsFiles, func(o *Options) {
				o.Upstream = "ingress.internal:443"
				o.UpstreamCA = "/etc/ssl/certs/ca-certificates.crt"
				o.TrustedHops = []netip.Prefix{netip.MustParsePrefix("173.245.48.0/20"), netip.MustParsePrefix("2400:cb00::/32")}
			})},
		{"split-loadbalancer-ranges", proxy(proxyv1.ExposeSplit, proxyv1.TLSAtLoadBalancer, "10.0.0.0/8", "192.168.0.0/16"),
			with(tlsFiles, func(o *Options) {
				o.Upstream = "[fd00::5]:8080"
				o.ListenAddress = netip.MustParseAddr("192.0.2.10")
				o.HTTPPort, o.HTTPSPort = 8080, 8443
				o.TrustedHops = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
			})},
		{"split-none-classonly", proxy(proxyv1.ExposeSplit, proxyv1.TLSNone), Options{Upstream: "10.0.0.5:80"}},
	}
	for _, c := range cases {
		for kind, build := range map[string]func(*proxyv1.PostHogProxy, Options) (string, error){"nginx": NGINX, "apache": Apache} {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				got, err := build(c.proxy, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", c.name+"."+kind+".conf")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./controllers/edge -update and review the file)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the rendering; run go test ./controllers/edge -update and review the diff", path)
				}
			})
		}
	}
}

// The intent each file must carry, checked on the text so that a template
// edit cannot silently drop it.
func TestIntent(t *testing.T) {
	p := proxy(proxyv1.ExposeSplit, proxyv1.TLSAtLoadBalancer, "10.0.0.0/8")
	p.Spec.Ingress.MaxBodySize = ptrQuantity("30Mi")
	opts := with(tlsFiles, func(o *Options) { o.Upstream = "10.0.0.5:80" })
	nginx, err := NGINX(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	apache, err := Apache(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"client_max_body_size 31457280;", "server_name posthog.example.com eu.posthog.example.com;",
		"listen 443 ssl;", "listen [::]:443 ssl;", "listen 80;", "listen [::]:80;", "proxy_pass http://10.0.0.5:80/;", "proxy_redirect off;",
		`proxy_set_header Forwarded "";`,
		"proxy_set_header Host $host;", "10.0.0.0/8 1;", "return 403;", "return 301 https://$host$request_uri;"} {
		if !strings.Contains(nginx, want) {
			t.Errorf("nginx lacks %q", want)
		}
	}
	for _, want := range []string{"LimitRequestBody 31457280", "ServerName posthog.example.com", "ServerAlias eu.posthog.example.com",
		"<VirtualHost *:443>", "<VirtualHost *:80>", `ProxyPass "/" "http://10.0.0.5:80/"`, "ProxyPreserveHost On",
		"RequestHeader unset X-Forwarded-For\n", `RequestHeader set X-Forwarded-Proto "https"`, "Require ip 10.0.0.0/8",
		`"https://%{SERVER_NAME}%{REQUEST_URI}" [R=301,L]`} {
		if !strings.Contains(apache, want) {
			t.Errorf("apache lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*ProxyPassReverse`).MatchString(apache) {
		t.Error("apache rewrites PostHog's redirects")
	}
}

// The public path expression matches what the public Ingress serves and
// nothing longer.
func TestPublicRegexp(t *testing.T) {
	re := regexp.MustCompile(publicRegexp([]string{"/e", "/s", "/static/array.js", "/api/surveys"}))
	for path, want := range map[string]bool{
		"/e": true, "/e/": true, "/e/?x": true, "/s/abc": true, "/static/array.js": true, "/api/surveys/": true,
		"/events": false, "/settings": false, "/static/array.jsx": false, "/static/arrayXjs": false,
		"/api/surveysx": false, "/api/projects": false, "/": false, "/x/e": false,
	} {
		if got := re.MatchString(path); got != want {
			t.Errorf("%s: matched %v, want %v", path, got, want)
		}
	}
}

func TestRefused(t *testing.T) {
	ok := with(tlsFiles, func(o *Options) { o.Upstream = "10.0.0.5:80" })
	lb := proxy(proxyv1.ExposeAll, proxyv1.TLSAtLoadBalancer)
	noHosts := proxy(proxyv1.ExposeAll, proxyv1.TLSNone)
	noHosts.Spec.Hosts = nil
	badName := proxy(proxyv1.ExposeAll, proxyv1.TLSAtLoadBalancer)
	badName.Name = "x\nserver{return 204;}#"
	cases := []struct {
		name  string
		proxy *proxyv1.PostHogProxy
		opts  Options
		want  string
	}{
		{"no upstream", lb, with(ok, func(o *Options) { o.Upstream = "" }), "host:port of the ingress controller"},
		{"upstream without port", lb, with(ok, func(o *Options) { o.Upstream = "10.0.0.5" }), "host:port"},
		{"upstream port zero", lb, with(ok, func(o *Options) { o.Upstream = "10.0.0.5:0" }), "host:port"},
		{"upstream injection", lb, with(ok, func(o *Options) { o.Upstream = "a;b:80" }), "an IP address or DNS name"},
		{"upstream variable", lb, with(ok, func(o *Options) { o.Upstream = "$http_x_target:80" }), "an IP address or DNS name"},
		{"upstream path", lb, with(ok, func(o *Options) { o.Upstream = "127.0.0.1/x:80" }), "an IP address or DNS name"},
		{"upstream port spelling", lb, with(ok, func(o *Options) { o.Upstream = "10.0.0.5:080" }), "a port from 1 to 65535"},
		{"upstream in octal", lb, with(ok, func(o *Options) { o.Upstream = "010.0.0.5:80" }), "an IP address or DNS name"},
		{"upstream in short form", lb, with(ok, func(o *Options) { o.Upstream = "127.1:80" }), "an IP address or DNS name"},
		{"upstream in hex", lb, with(ok, func(o *Options) { o.Upstream = "0x7f.1:80" }), "an IP address or DNS name"},
		{"upstream as a number", lb, with(ok, func(o *Options) { o.Upstream = "2130706433:80" }), "an IP address or DNS name"},
		{"upstream broadcast", lb, with(ok, func(o *Options) { o.Upstream = "255.255.255.255:80" }), "an IP address or DNS name"},
		{"upstream label too long", lb, with(ok, func(o *Options) { o.Upstream = strings.Repeat("a", 64) + ".internal:80" }), "an IP address or DNS name"},
		{"upstream mapped address", lb, with(ok, func(o *Options) { o.Upstream = "[::ffff:10.0.0.5]:80" }), "an IP address or DNS name"},
		{"TLS without certificate", lb, with(ok, func(o *Options) { o.CertFile = "" }), "give its certificate file (--tls-cert)"},
		{"TLS without key", lb, with(ok, func(o *Options) { o.KeyFile = "" }), "give its key file (--tls-key)"},
		{"CA path with a dollar", proxy(proxyv1.ExposeAll, proxyv1.TLSAtIngress), with(ok, func(o *Options) { o.UpstreamCA = "/etc/$ca" }), "use another path"},
		{"certificate path with a space", lb, with(ok, func(o *Options) { o.CertFile = "/etc/my cert.pem" }), "spaces, quotes"},
		{"everything as trusted hop", lb, with(ok, func(o *Options) { o.TrustedHops = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")} }), "every client's forwarded headers"},
		{"half the internet as trusted hop", lb, with(ok, func(o *Options) { o.TrustedHops = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1")} }), "wider than /8"},
		{"mapped trusted hop", lb, with(ok, func(o *Options) { o.TrustedHops = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.1/128")} }), "IPv4-mapped"},
		{"port out of range", lb, with(ok, func(o *Options) { o.HTTPSPort = 70000 }), "out of range"},
		{"same ports", lb, with(ok, func(o *Options) { o.HTTPPort, o.HTTPSPort = 8080, 8080 }), "must differ"},
		{"same ports by default", lb, with(ok, func(o *Options) { o.HTTPPort, o.HTTPSPort = 0, 80 }), "must differ; both are 80"},
		{"zoned listen address", lb, with(ok, func(o *Options) { o.ListenAddress = netip.MustParseAddr("fe80::1%eth0") }), "without zone"},
		{"name that is no DNS name", badName, ok, "metadata.name"},
		{"no hosts", noHosts, ok, "no spec.hosts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, build := range []func(*proxyv1.PostHogProxy, Options) (string, error){NGINX, Apache} {
				_, err := build(c.proxy, c.opts)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %v, want one saying %q", err, c.want)
				}
			}
		})
	}
}

func ptrQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// The files of two PostHogProxies can share one NGINX: their variables
// differ even when their names differ only in the namespace or in '-' and
// '.', and stay short for names of any length.
func TestVariablesPerResource(t *testing.T) {
	opts := Options{Upstream: "10.0.0.5:80"}
	seen := map[string]string{}
	for _, nsName := range [][2]string{{"prod", "posthog"}, {"staging", "posthog"}, {"prod", "a-b"}, {"prod", "a.b"},
		{"prod", strings.Repeat("long-name-", 6) + "x"}} {
		p := proxy(proxyv1.ExposeAll, proxyv1.TLSNone)
		p.Namespace, p.Name = nsName[0], nsName[1]
		out, err := NGINX(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		v := regexp.MustCompile(`geo \$(\S+)_trusted_hop`).FindStringSubmatch(out)
		if v == nil || len(v[1]) > 24 {
			t.Fatalf("%s/%s: variable prefix %v, want one of at most 24 characters", nsName[0], nsName[1], v)
		}
		if other, dup := seen[v[1]]; dup {
			t.Errorf("%s/%s and %s share the variables %s", nsName[0], nsName[1], other, v[1])
		}
		seen[v[1]] = nsName[0] + "/" + nsName[1]
	}
}
