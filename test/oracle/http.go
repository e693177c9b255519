package oracle

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Decision is what PostHog decides about one request, in the order its
// middleware does: host check, HTTPS redirect, IP allowlist.
type Decision struct {
	// Peer is REMOTE_ADDR, the direct peer's address.
	Peer string `json:"peer"`
	// XForwardedFor is the header as it arrived.
	XForwardedFor string `json:"xForwardedFor"`
	// ClientIP is the client address PostHog resolved, empty when it found
	// none (a hop it does not trust).
	ClientIP string `json:"clientIP"`
	// Scheme is what PostHog believes the client used.
	Scheme string `json:"scheme"`
	// Host is the host PostHog checked against ALLOWED_HOSTS.
	Host string `json:"host"`
	// Status is the response: 400 for a host not allowed, 301 for the HTTPS
	// redirect, 403 for a client outside ALLOWED_IP_BLOCKS, 200 otherwise.
	Status int `json:"status"`
	// Location is the redirect target with status 301.
	Location string `json:"location,omitempty"`
	// BodyBytes is the size of the request body that arrived.
	BodyBytes int64 `json:"bodyBytes"`
	// Forwarded and XRealIP are headers PostHog does not read but other
	// software might: what the proxies let through.
	Forwarded string `json:"forwarded,omitempty"`
	XRealIP   string `json:"xRealIP,omitempty"`
	// Underscored are the names of headers with '_', which some servers read
	// as the same header with '-'.
	Underscored []string `json:"underscored,omitempty"`
}

// publicSegments are the first path segments PostHog's IP allowlist lets
// through for everyone: ingestion, flags, recordings, the JS loaders and
// the health check.
var publicSegments = []string{"decide", "engage", "track", "capture", "batch", "e", "s", "static", "_health"}

// djangoHost is the shape Django accepts for a host, before the allowlist.
var djangoHost = regexp.MustCompile(`^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`)

// Decide applies PostHog's rules to a request, as the web container with
// these settings would.
func (s Settings) Decide(r *http.Request) Decision {
	peer, _, _ := net.SplitHostPort(r.RemoteAddr)
	xff := r.Header.Get("X-Forwarded-For")
	d := Decision{Peer: peer, XForwardedFor: xff, Scheme: "http", Host: r.Host,
		Forwarded: r.Header.Get("Forwarded"), XRealIP: r.Header.Get("X-Real-Ip")}
	for name := range r.Header {
		if strings.Contains(name, "_") {
			d.Underscored = append(d.Underscored, name)
		}
	}
	if r.TLS != nil {
		d.Scheme = "https"
	}
	if s.BehindProxy {
		// Django's SECURE_PROXY_SSL_HEADER: the first value decides.
		if proto, ok := r.Header["X-Forwarded-Proto"]; ok {
			first, _, _ := strings.Cut(strings.Join(proto, ","), ",")
			d.Scheme = "http"
			if strings.TrimSpace(first) == "https" {
				d.Scheme = "https"
			}
		}
		if host := r.Header.Values("X-Forwarded-Host"); len(host) > 0 {
			d.Host = strings.Join(host, ",")
		}
	}
	if ip, ok := ClientIP(s, peer, xff); ok {
		d.ClientIP = ip
	}

	path := r.URL.Path
	segment := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0]
	switch {
	case segment == "_health":
		// The health check answers before the host check and the redirect.
		d.Status = http.StatusOK
	case !s.hostAllowed(d.Host):
		d.Status = http.StatusBadRequest
	case s.SSLRedirect && d.Scheme != "https":
		d.Status = http.StatusMovedPermanently
		d.Location = "https://" + d.Host + r.URL.RequestURI()
	case len(s.AllowedIPBlocks) > 0 && !slices.Contains(publicSegments, segment) && !s.ipAllowed(d.ClientIP):
		d.Status = http.StatusForbidden
	default:
		d.Status = http.StatusOK
	}
	return d
}

// hostAllowed is Django's validate_host: "*" allows any, ".example.com"
// the domain and its subdomains, anything else itself; ports are ignored.
func (s Settings) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if !djangoHost.MatchString(host) {
		return false
	}
	domain := host
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
		domain = host[:i]
	}
	domain = strings.TrimSuffix(domain, ".")
	for _, pattern := range s.AllowedHosts {
		pattern = strings.ToLower(pattern)
		switch {
		case pattern == "*", pattern == domain:
			return true
		case strings.HasPrefix(pattern, ".") && (strings.HasSuffix(domain, pattern) || domain == pattern[1:]):
			return true
		}
	}
	return false
}

func (s Settings) ipAllowed(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, block := range s.AllowedIPBlocks {
		if block.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// Handler serves PostHog's decisions: it reads the whole body, answers
// with the decision's status and the decision as JSON, and hands each
// decision to record. settings is read per request, so a test can change
// the environment as a new pod would start with it.
func Handler(settings func() Settings, record func(Decision)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := settings().Decide(r)
		d.BodyBytes, _ = io.Copy(io.Discard, r.Body)
		if record != nil {
			record(d)
		}
		w.Header().Set("Content-Type", "application/json")
		if d.Location != "" {
			w.Header().Set("Location", d.Location)
		}
		w.WriteHeader(d.Status)
		_ = json.NewEncoder(w).Encode(d)
	})
}
