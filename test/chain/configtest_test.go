package chain

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// Every exposure and TLS termination, at the edge and behind a CDN, as
// NGINX and as Apache, with the longest name the API admits: the real
// binaries accept what render prints. A broken file is refused, so the
// check itself can fail.
func TestRenderedConfigsPassTheServersOwnCheck(t *testing.T) {
	for _, exposure := range []proxyv1.Exposure{proxyv1.ExposeAll, proxyv1.ExposePublicOnly, proxyv1.ExposeSplit} {
		for _, termination := range []proxyv1.TLSTermination{proxyv1.TLSAtIngress, proxyv1.TLSAtLoadBalancer, proxyv1.TLSNone} {
			for _, place := range placements {
				for _, kind := range []string{"nginx", "apache"} {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", exposure, termination, place.name, kind), func(t *testing.T) {
						proxy := configProxy(exposure, termination)
						args := append([]string{"--tls-cert", certs.certFile, "--tls-key", certs.keyFile}, place.args...)
						if termination == proxyv1.TLSAtIngress {
							args = append(args, "--upstream-ca", certs.caFile)
						}
						site := renderEdge(t, proxy, kind, args...)
						if out, err := checkConfig(t, kind, site); err != nil {
							t.Fatalf("%s refused the rendered configuration: %v\n%s\n%s", kind, err, out, site)
						}
						if _, err := checkConfig(t, kind, site+"\nNotADirective on;\n"); err == nil {
							t.Fatalf("%s accepted a broken file: the check proves nothing", kind)
						}
					})
				}
			}
		}
	}
}

// placements are where the proxy stands: at the edge, or behind a CDN with
// an IPv6 upstream and ports of its own.
var placements = []struct {
	name string
	args []string
}{
	{"edge", []string{"--upstream", "10.0.0.5:443"}},
	{"behind-a-cdn", []string{"--upstream", "[fd00::5]:8443", "--trusted-hops", "173.245.48.0/20,2400:cb00::/32",
		"--http-port", "8080", "--https-port", "8443"}},
}

func configProxy(exposure proxyv1.Exposure, termination proxyv1.TLSTermination) *proxyv1.PostHogProxy {
	spec := baseSpec()
	spec.Hosts = append(spec.Hosts, "eu."+postHogHost)
	spec.Ingress.Controller = proxyv1.ControllerNginx
	spec.Ingress.Exposure = exposure
	spec.Ingress.PublicPaths = []proxyv1.PublicPath{"/static/toolbar.js", "/api/projects/toolbar"}
	spec.TLS.Termination = termination
	if termination == proxyv1.TLSAtIngress {
		spec.TLS.SecretName = "posthog-tls"
	}
	if exposure == proxyv1.ExposeSplit {
		spec.Ingress.Private = &proxyv1.PrivateIngress{SourceRanges: []proxyv1.SourceRange{"10.0.0.0/8", "2001:db8::/32"}}
	}
	// The longest name the API admits: NGINX refuses variable names past a
	// hash bucket's size.
	return &proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Name: "posthog-production-eu-central-1-analytics-platform-team-a-b-c1", Namespace: postHogNS}, Spec: spec}
}

// checkConfig runs nginx -t or apache2ctl -t on a rendered file inside the
// main file a distribution would have.
func checkConfig(t *testing.T, kind, site string) (string, error) {
	t.Helper()
	dir := serverDir(t, kind)
	if err := os.WriteFile(filepath.Join(dir, "posthog.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	if kind == "nginx" {
		return nginxTest(writeNGINXMain(t, dir, "127.0.0.2"))
	}
	writeApacheMain(t, dir, "127.0.0.3:80", "127.0.0.3:443")
	return apacheTest(dir)
}
