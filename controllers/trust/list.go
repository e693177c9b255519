// Package trust turns the trusted proxy sources of a PostHogProxy — static
// entries, discovered endpoints and presets — into the one canonical list
// PostHog reads from TRUSTED_PROXIES.
package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Entry is one trusted proxy: a single address (a prefix of full length) or
// a network.
type Entry = netip.Prefix

// List is a canonical trusted proxy list: entries sorted (IPv4 before IPv6,
// then numerically, an address before the networks that start with it) and
// without duplicates. PostHog compares entries with the peer address as
// exact strings in the versions its proxy guide describes, so every single
// address is written the way a peer address is printed: IPv6 in RFC 5952
// form.
type List struct {
	entries []Entry
	sources []Source
}

// Source is what one source of trusted proxies contributed.
type Source struct {
	// Name is static, service/<namespace>/<name>, preset/<name> or leaving.
	Name string
	// Version is a preset's version.
	Version string
	Entries []Entry
}

// Merge builds the list from its sources.
func Merge(sources ...Source) List {
	var all []Entry
	for _, s := range sources {
		all = append(all, s.Entries...)
	}
	return List{entries: canonical(all), sources: sources}
}

func canonical(entries []Entry) []Entry {
	out := slices.Clone(entries)
	slices.SortFunc(out, func(a, b Entry) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return b.Bits() - a.Bits()
	})
	return slices.Compact(out)
}

// Parse reads static entries: addresses, or networks in CIDR form. It refuses
// what PostHog could never match as written or what would trust everyone:
// zones, IPv4-mapped IPv6 spellings, /0, networks written with host bits,
// and addresses no peer can have.
func Parse(entries []string) ([]Entry, error) {
	out := make([]Entry, 0, len(entries))
	for _, raw := range entries {
		e, err := parseEntry(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func parseEntry(s string) (Entry, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return Entry{}, fmt.Errorf("%q is not an IP address or network: %w", s, err)
		}
		if err := usableAddr(s, addr); err != nil {
			return Entry{}, err
		}
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Entry{}, fmt.Errorf("%q is not an IP address or network: %w", s, err)
	}
	switch {
	case p.Addr().Is4In6():
		return Entry{}, fmt.Errorf("%q is an IPv4-mapped IPv6 network; write it in IPv4 form", s)
	case p.Bits() == 0:
		return Entry{}, fmt.Errorf("%q trusts every client; use policy TrustAll if that is really meant", s)
	case p.Masked() != p:
		return Entry{}, fmt.Errorf("%q has host bits set; write the network as %s", s, p.Masked())
	case p.Addr().Is4() && p.Bits() < 8 || p.Addr().Is6() && p.Bits() < 16:
		return Entry{}, fmt.Errorf("%q is wider than /8 (IPv4) or /16 (IPv6) and trusts a large part of the internet", s)
	case p.Addr().IsMulticast():
		return Entry{}, fmt.Errorf("%q is a multicast network: no peer has such an address", s)
	}
	if p.IsSingleIP() {
		return p, usableAddr(s, p.Addr())
	}
	return p, nil
}

func usableAddr(s string, addr netip.Addr) error {
	switch {
	case addr.Zone() != "":
		return fmt.Errorf("%q has an IPv6 zone, which never appears in a peer address", s)
	case addr.Is4In6():
		return fmt.Errorf("%q is an IPv4-mapped IPv6 address; write it as %s", s, addr.Unmap())
	case !addr.IsGlobalUnicast() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast():
		return fmt.Errorf("%q is not a unicast address a proxy can have (unspecified, broadcast or multicast)", s)
	}
	return nil
}

// Len is the number of entries in the list.
func (l List) Len() int { return len(l.entries) }

// Sources are the sources the list was merged from.
func (l List) Sources() []Source { return l.sources }

// Strings returns the canonical spelling of each entry, in order: a single
// address without a prefix length, a network in CIDR form.
func (l List) Strings() []string {
	out := make([]string, len(l.entries))
	for i, e := range l.entries {
		out[i] = entryString(e)
	}
	return out
}

// Ranges are the entries that are networks of more than one address, which
// PostHog's exact matching can never match.
func (l List) Ranges() []string {
	var out []string
	for _, e := range l.entries {
		if !e.IsSingleIP() {
			out = append(out, entryString(e))
		}
	}
	return out
}

func entryString(e Entry) string {
	if e.IsSingleIP() {
		return e.Addr().String()
	}
	return e.String()
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
