// Package oracle is a small model of how PostHog resolves a request's client
// IP address from its settings, for tests to check the settings the
// operator generates against real topologies.
//
// PostHog (its IP allowlist middleware, in the versions its proxy guide
// describes): behind a proxy, the leftmost X-Forwarded-For entry is the
// client, believed only when the direct peer and every later hop are
// trusted proxies; otherwise no client address is found and
// ALLOWED_IP_BLOCKS refuses the request. TRUST_ALL_PROXIES, read as a raw
// string, believes any X-Forwarded-For when it is non-empty.
package oracle

import (
	"net/netip"
	"strings"
)

// Matching is how TRUSTED_PROXIES entries are compared with a hop.
type Matching int

const (
	// Exact compares strings, as PostHog's guide-era versions do.
	Exact Matching = iota
	// Network treats entries with a prefix length as networks.
	Network
)

// Settings are the variables PostHog reads, as it reads them.
type Settings struct {
	BehindProxy    bool
	TrustAll       bool
	TrustedProxies []string
	Matching       Matching
	// AllowedHosts is ALLOWED_HOSTS, ["*"] when unset.
	AllowedHosts []string
	// SSLRedirect: PostHog redirects plain HTTP to HTTPS. On unless
	// DISABLE_SECURE_SSL_REDIRECT is true or SECURE_COOKIES is false.
	SSLRedirect bool
	// AllowedIPBlocks is ALLOWED_IP_BLOCKS: when set, only clients in them
	// reach anything but the public endpoints.
	AllowedIPBlocks []netip.Prefix
}

// FromEnv reads settings from environment variables the way PostHog does.
func FromEnv(env map[string]string, matching Matching) Settings {
	s := Settings{
		BehindProxy: truthy(env["IS_BEHIND_PROXY"]),
		// Not parsed as a boolean: any non-empty value, "False" included.
		TrustAll: env["TRUST_ALL_PROXIES"] != "",
		Matching: matching,
	}
	s.TrustedProxies = list(env["TRUSTED_PROXIES"])
	s.AllowedHosts = []string{"*"}
	if hosts, ok := env["ALLOWED_HOSTS"]; ok {
		s.AllowedHosts = list(hosts)
	}
	// Secure cookies default to on in production, and the redirect follows
	// them unless it is turned off on its own.
	s.SSLRedirect = true
	if v, ok := env["SECURE_COOKIES"]; ok {
		s.SSLRedirect = truthy(v)
	}
	if truthy(env["DISABLE_SECURE_SSL_REDIRECT"]) {
		s.SSLRedirect = false
	}
	for _, block := range list(env["ALLOWED_IP_BLOCKS"]) {
		// PostHog reads each block with strict=False: host bits are dropped.
		if p, err := netip.ParsePrefix(block); err == nil {
			s.AllowedIPBlocks = append(s.AllowedIPBlocks, p.Masked())
		} else if a, err := netip.ParseAddr(block); err == nil {
			s.AllowedIPBlocks = append(s.AllowedIPBlocks, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return s
}

// list reads a comma-separated variable as PostHog does: entries stripped
// of spaces, empty ones dropped.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true
	}
	return false
}

// ClientIP is the client address PostHog finds for a request from peer
// with the given X-Forwarded-For header, and false when it finds none.
func ClientIP(s Settings, peer, xForwardedFor string) (string, bool) {
	if !s.BehindProxy {
		return peer, true
	}
	var forwarded []string
	for _, hop := range strings.Split(xForwardedFor, ",") {
		if hop = strings.TrimSpace(hop); hop != "" {
			forwarded = append(forwarded, hop)
		}
	}
	if len(forwarded) == 0 {
		return peer, true
	}
	client := forwarded[0]
	if s.TrustAll {
		return client, true
	}
	for _, hop := range append([]string{peer}, forwarded[1:]...) {
		if !s.trusts(hop) {
			return "", false
		}
	}
	return client, true
}

func (s Settings) trusts(hop string) bool {
	for _, entry := range s.TrustedProxies {
		if entry == hop {
			return true
		}
		if s.Matching != Network || !strings.Contains(entry, "/") {
			continue
		}
		network, err := netip.ParsePrefix(entry)
		addr, aerr := netip.ParseAddr(hop)
		if err == nil && aerr == nil && network.Contains(addr) {
			return true
		}
	}
	return false
}
