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
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
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
	TLS         bool   // this proxy terminates TLS from clients
	UpstreamURL string // http:// or https:// (TLS termination Ingress re-encrypts)
	HTTPListen  string // NGINX's listen: port, or address:port
	HTTPSListen string
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

var varUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

func newConfig(proxy *proxyv1.PostHogProxy, opts Options) (config, error) {
	spec := proxy.Spec
	termination := spec.TLS.Termination
	c := config{
		Source:    proxy.Namespace + "/" + proxy.Name,
		Var:       "posthog_" + strings.Trim(varUnsafe.ReplaceAllString(proxy.Name, "_"), "_"),
		TLS:       termination != proxyv1.TLSNone,
		BodyBytes: desired.MaxBodySizeMiB(proxy) << 20,
		CertFile:  opts.CertFile,
		KeyFile:   opts.KeyFile,
	}
	for _, h := range spec.Hosts {
		c.Hosts = append(c.Hosts, string(h))
	}
	if len(c.Hosts) == 0 {
		return config{}, errors.New("the PostHogProxy has no spec.hosts")
	}

	host, port, err := net.SplitHostPort(opts.Upstream)
	if err != nil || host == "" || !validPort(port) {
		return config{}, fmt.Errorf("the upstream must be host:port of the ingress controller, such as 10.0.0.5:80; got %q", opts.Upstream)
	}
	if strings.ContainsAny(host, " \t\"';{}#") {
		return config{}, fmt.Errorf("the upstream host %q holds characters no host name has", host)
	}
	scheme := "http"
	if termination == proxyv1.TLSAtIngress {
		// The ingress controller terminates TLS: forward over TLS again.
		scheme = "https"
	}
	c.UpstreamURL = scheme + "://" + net.JoinHostPort(host, port)

	if c.TLS && (opts.CertFile == "" || opts.KeyFile == "") {
		return config{}, fmt.Errorf("spec.tls.termination is %s, so this proxy serves HTTPS: give the certificate and key files", termination)
	}
	for _, f := range []string{opts.CertFile, opts.KeyFile} {
		if strings.ContainsAny(f, " \t\n\"';{}#") {
			return config{}, fmt.Errorf("the file name %q holds spaces, quotes or characters the configuration would misread", f)
		}
	}
	for _, port := range []int{opts.HTTPPort, opts.HTTPSPort} {
		if port < 0 || port > 65535 {
			return config{}, fmt.Errorf("port %d is out of range: give 1 to 65535", port)
		}
	}
	c.HTTPListen, c.HTTPVHost = listen(opts.ListenAddress, opts.HTTPPort, 80)
	c.HTTPSListen, c.HTTPSVHost = listen(opts.ListenAddress, opts.HTTPSPort, 443)
	if opts.HTTPSPort != 0 && opts.HTTPSPort != 443 {
		c.HTTPSPortSuffix = ":" + strconv.Itoa(opts.HTTPSPort)
	}
	if opts.HTTPPort != 0 && opts.HTTPPort == opts.HTTPSPort {
		return config{}, errors.New("the HTTP and HTTPS ports must differ")
	}

	for _, p := range opts.TrustedHops {
		if !p.IsValid() || p.Bits() == 0 {
			return config{}, fmt.Errorf("trusted hop %s: give the addresses or ranges of the proxies in front, not everything", p)
		}
		c.TrustedHops = append(c.TrustedHops, p.Masked().String())
	}

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
	return err == nil && n > 0 && n < 65536
}

// listen is where to listen, as NGINX and as Apache write it.
func listen(addr netip.Addr, port, def int) (nginx, apache string) {
	if port == 0 {
		port = def
	}
	if !addr.IsValid() {
		return strconv.Itoa(port), "*:" + strconv.Itoa(port)
	}
	s := netip.AddrPortFrom(addr, uint16(port)).String()
	return s, s
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
