// Package edge renders configuration for a reverse proxy that users run in
// front of the ingress controller (a load balancer or CDN stand-in): NGINX
// and Apache httpd files consistent with a PostHogProxy's hosts, TLS,
// forwarded headers, body size and public paths.
//
// Forwarded headers follow one rule in both: X-Forwarded-For and
// X-Forwarded-Proto are kept only from the proxies listed as trusted hops
// in front; from anyone else they are replaced with what this proxy saw, so
// a client cannot choose the address or scheme PostHog believes. The Host
// header is passed unchanged and X-Forwarded-Host is always the Host.
package edge

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/util/validation"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Options place the proxy: where it listens and forwards, its certificate,
// and the proxies in front of it.
type Options struct {
	// Upstream is host:port of the ingress controller, such as its load
	// balancer address or NodePort.
	Upstream string
	// ListenAddress restricts the listeners to one address; unset listens
	// on all.
	ListenAddress netip.Addr
	// HTTPPort and HTTPSPort are the listening ports (80 and 443 when 0).
	HTTPPort, HTTPSPort int
	// CertFile and KeyFile are the certificate and key presented to clients,
	// needed unless TLS termination is None.
	CertFile, KeyFile string
	// UpstreamCA is a file of CA certificates to verify the ingress
	// controller's certificate with, when TLS termination is Ingress; without
	// it the connection is encrypted but not verified.
	UpstreamCA string
	// TrustedHops are the proxies in front of this one (a CDN's ranges, say)
	// whose X-Forwarded-For and X-Forwarded-Proto are kept.
	TrustedHops []netip.Prefix
}

// config is what both renderings read: the resource's intent and the
// options, checked and in the form the templates want.
type config struct {
	Source      string // namespace/name of the PostHogProxy
	Var         string // prefix of the NGINX variables, unique per resource
	Hosts       []string
	TLS         bool     // this proxy terminates TLS from clients
	UpstreamURL string   // http:// or https:// (TLS termination Ingress re-encrypts)
	UpstreamCA  string   // verifies the ingress controller's certificate when set
	HTTPListen  []string // NGINX's listens: port and [::]:port, or address:port
	HTTPSListen []string
	HTTPVHost   string // Apache's VirtualHost: *:port, or address:port
	HTTPSVHost  string
	// HTTPSPortSuffix is ":port" in redirects to HTTPS, empty for 443.
	HTTPSPortSuffix string
	CertFile        string
	KeyFile         string
	BodyBytes       int64
	TrustedHops     []string
	Restricted      bool   // only public paths, plus sourceRanges with Split
	PublicRegexp    string // matches the path of a public endpoint or file
	SourceRanges    []string
}

func execute(t *template.Template, proxy *proxyv1.PostHogProxy, opts Options) (string, error) {
	c, err := newConfig(proxy, opts)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, c); err != nil {
		return "", err
	}
	return b.String(), nil
}

func newConfig(proxy *proxyv1.PostHogProxy, opts Options) (config, error) {
	spec := proxy.Spec
	termination := spec.TLS.Termination
	// Names reach the files as comments and must be what the API server
	// admits.
	if errs := validation.IsDNS1123Subdomain(proxy.Name); len(errs) > 0 {
		return config{}, fmt.Errorf("metadata.name %q: %s", proxy.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(proxy.Namespace); len(errs) > 0 {
		return config{}, fmt.Errorf("metadata.namespace %q: %s", proxy.Namespace, strings.Join(errs, "; "))
	}
	source := proxy.Namespace + "/" + proxy.Name
	c := config{
		Source: source,
		// Short, and unique per resource, so that the files of several
		// PostHogProxies can share one NGINX.
		Var:       "posthog_" + strings.TrimPrefix(trust.Hash(source), "sha256:")[:12],
		TLS:       termination != proxyv1.TLSNone,
		BodyBytes: desired.MaxBodySizeMiB(proxy) << 20,
		CertFile:  opts.CertFile,
		KeyFile:   opts.KeyFile,
	}
	for _, h := range spec.Hosts {
		c.Hosts = append(c.Hosts, string(h))
	}
	if len(c.Hosts) == 0 {
		return config{}, fmt.Errorf("the PostHogProxy has no spec.hosts")
	}

	host, port, err := net.SplitHostPort(opts.Upstream)
	if err != nil || !validPort(port) || !validHost(host) {
		return config{}, fmt.Errorf("the upstream must be host:port of the ingress controller, with an IP address or DNS name and a port from 1 to 65535, such as 10.0.0.5:80 or ingress.internal:443; got %q", opts.Upstream)
	}
	scheme := "http"
	if termination == proxyv1.TLSAtIngress {
		// The ingress controller terminates TLS: forward over TLS again.
		scheme = "https"
	}
	c.UpstreamURL = scheme + "://" + net.JoinHostPort(host, port)

	if c.TLS && opts.CertFile == "" {
		return config{}, fmt.Errorf("spec.tls.termination is %s, so this proxy serves HTTPS: give its certificate file (--tls-cert)", termination)
	}
	if c.TLS && opts.KeyFile == "" {
		return config{}, fmt.Errorf("spec.tls.termination is %s, so this proxy serves HTTPS: give its key file (--tls-key)", termination)
	}
	for _, f := range []string{opts.CertFile, opts.KeyFile, opts.UpstreamCA} {
		if strings.ContainsAny(f, " \t\r\n\"'\\;{}#$") {
			return config{}, fmt.Errorf("the file name %q holds spaces, quotes or characters the configuration would misread: use another path", f)
		}
	}
	if scheme == "https" {
		c.UpstreamCA = opts.UpstreamCA
	}
	httpPort, httpsPort := cmp.Or(opts.HTTPPort, 80), cmp.Or(opts.HTTPSPort, 443)
	for _, port := range []int{httpPort, httpsPort} {
		if port < 1 || port > 65535 {
			return config{}, fmt.Errorf("port %d is out of range: give 1 to 65535", port)
		}
	}
	if c.TLS && httpPort == httpsPort {
		return config{}, fmt.Errorf("the HTTP and HTTPS ports must differ; both are %d", httpPort)
	}
	if a := opts.ListenAddress; a.IsValid() && (a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast()) {
		return config{}, fmt.Errorf("listen address %s: give one unicast address of this machine, without zone, in its own family; or none to listen on all", a)
	}
	c.HTTPListen, c.HTTPVHost = listen(opts.ListenAddress, httpPort)
	c.HTTPSListen, c.HTTPSVHost = listen(opts.ListenAddress, httpsPort)
	if httpsPort != 443 {
		c.HTTPSPortSuffix = ":" + strconv.Itoa(httpsPort)
	}

	// The same rules as spec.trustedProxies.addresses: no /0, nothing wider
	// than /8 or /16, no mapped or multicast addresses.
	for _, p := range opts.TrustedHops {
		if p.Bits() == 0 {
			return config{}, fmt.Errorf("trusted hop %s would keep every client's forwarded headers: list the addresses or ranges of the proxies in front", p)
		}
		hop, err := trust.Parse([]string{p.String()})
		if err != nil {
			return config{}, fmt.Errorf("trusted hop: %w", err)
		}
		c.TrustedHops = append(c.TrustedHops, hop[0].String())
	}
	slices.Sort(c.TrustedHops)
	c.TrustedHops = slices.Compact(c.TrustedHops)

	switch desired.EffectiveExposure(proxy) {
	case proxyv1.ExposePublicOnly:
		c.Restricted = true
	case proxyv1.ExposeSplit:
		c.Restricted = true
		if spec.Ingress.Private != nil {
			for _, r := range spec.Ingress.Private.SourceRanges {
				c.SourceRanges = append(c.SourceRanges, string(r))
			}
		}
	}
	c.PublicRegexp = publicRegexp(desired.PublicPaths(proxy))
	return c, nil
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536 && strconv.Itoa(n) == s
}

// validHost is a unicast IP address or a DNS name: nothing the
// configuration could read as a variable, a path or a directive, and no
// name a resolver would read as an address in an old notation (010.0.0.5,
// 127.1, 0x7f.1).
func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == "" && !a.Is4In6() && (a.IsGlobalUnicast() || a.IsLoopback())
	}
	name := strings.ToLower(h)
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return false
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) > 63 {
			return false
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != "" && !strings.HasPrefix(last, "0x")
}

// listen is where to listen, as NGINX (IPv4 and IPv6 when no address is
// given) and as Apache write it.
func listen(addr netip.Addr, port int) (nginx []string, apache string) {
	p := strconv.Itoa(port)
	if !addr.IsValid() {
		return []string{p, "[::]:" + p}, "*:" + p
	}
	s := netip.AddrPortFrom(addr, uint16(port)).String()
	return []string{s}, s
}

// publicRegexp matches what the public Ingress serves: an endpoint and
// everything below it but no longer name (/s, /s/..., not /settings), a file
// exactly. It is written in the syntax NGINX (PCRE) and Apache (PCRE) share.
func publicRegexp(paths []string) string {
	var endpoints, files []string
	for _, p := range paths {
		if desired.IsFilePath(p) {
			files = append(files, regexp.QuoteMeta(p))
		} else {
			endpoints = append(endpoints, regexp.QuoteMeta(p))
		}
	}
	var alternatives []string
	if len(endpoints) > 0 {
		alternatives = append(alternatives, "(?:"+strings.Join(endpoints, "|")+")(?:/|$)")
	}
	if len(files) > 0 {
		alternatives = append(alternatives, "(?:"+strings.Join(files, "|")+")$")
	}
	return "^(?:" + strings.Join(alternatives, "|") + ")"
}
