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
}

// FromEnv reads settings from environment variables the way PostHog does.
func FromEnv(env map[string]string, matching Matching) Settings {
	s := Settings{
		BehindProxy: truthy(env["IS_BEHIND_PROXY"]),
		// Not parsed as a boolean: any non-empty value, "False" included.
		TrustAll: env["TRUST_ALL_PROXIES"] != "",
		Matching: matching,
	}
	for _, p := range strings.Split(env["TRUSTED_PROXIES"], ",") {
		if p = strings.TrimSpace(p); p != "" {
			s.TrustedProxies = append(s.TrustedProxies, p)
		}
	}
	return s
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
