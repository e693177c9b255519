// Package trust turns the trusted proxy sources of a PostHogProxy into the
// one canonical list PostHog reads from TRUSTED_PROXIES.
package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// List is a canonical trusted proxy list: single addresses, sorted (IPv4
// before IPv6, then numerically), without duplicates. PostHog compares
// entries with the peer address as exact strings, so every entry is written
// the way the peer address is printed: IPv6 in RFC 5952 form.
type List struct {
	addrs []netip.Addr
}

// Parse builds a List from address strings. It refuses what PostHog could
// never match as written: ranges, zones and IPv4-mapped IPv6 spellings.
func Parse(entries []string) (List, error) {
	addrs := make([]netip.Addr, 0, len(entries))
	for _, entry := range entries {
		addr, err := netip.ParseAddr(strings.TrimSpace(entry))
		if err != nil {
			return List{}, fmt.Errorf("%q is not an IP address: %w", entry, err)
		}
		if addr.Zone() != "" {
			return List{}, fmt.Errorf("%q has an IPv6 zone, which never appears in a peer address", entry)
		}
		if addr.Is4In6() {
			return List{}, fmt.Errorf("%q is an IPv4-mapped IPv6 address; write it as %s", entry, addr.Unmap())
		}
		if !addr.IsGlobalUnicast() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast() {
			return List{}, fmt.Errorf("%q is not a unicast address a proxy can have (unspecified, broadcast or multicast)", entry)
		}
		addrs = append(addrs, addr)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return List{addrs: slices.Compact(addrs)}, nil
}

// Len is the number of addresses in the list.
func (l List) Len() int { return len(l.addrs) }

// Strings returns the canonical spelling of each address, in order.
func (l List) Strings() []string {
	out := make([]string, len(l.addrs))
	for i, a := range l.addrs {
		out[i] = a.String()
	}
	return out
}

// Value is the list as PostHog reads it from TRUSTED_PROXIES.
func (l List) Value() string { return strings.Join(l.Strings(), ",") }

// Hash identifies the list's content.
func (l List) Hash() string { return Hash(l.Value()) }

// Hash is the content hash the operator writes next to the things it
// publishes, so that a change of content is visible as a change of hash.
func Hash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}
