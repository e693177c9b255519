package trust

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// Seeds shared by the fuzz targets: ordinary entries, and the spellings
// that Parse must refuse or fold into one entry.
var addressSeeds = []string{
	"10.0.0.1", "10.0.0.1/32", " 10.0.0.1 ", "010.0.0.1", "10.0.0.256", "10.0.0", "10.0.0.1.",
	"192.168.0.0/16", "10.1.2.3/8", "0.0.0.0/0", "0.0.0.0/8", "0.0.0.0", "255.255.255.255", "224.0.0.1", "224.0.0.0/4",
	"127.0.0.1", "169.254.0.1", "2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::/32",
	"2001:db8::1/128", "2001:DB8:0::/48", "::", "::1", "::/0", "ff02::1", "ff00::/8", "::ffff:10.0.0.1", "::ffff:10.0.0.0/104",
	"::ffff:a00:1", "::10.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::/96", "fe80::1", "fe80::1%eth0", "fe80::1%25eth0/128",
	"fe80::/10", "fd00::/8", "2001:db8::1/64", "10.0.0.1:80", "[2001:db8::1]", "[::1]:443", "10.0.0.0/33", "10.0.0.0/-1",
	"10.0.0.0/08", "2001:db8::/0129", "proxy.local", "", " ", "/", "10.0.0.1/", "/32", "١٠.٠.٠.١", "10.0.0.1\x00",
	"ｆｅ80::1", "2001:db8::1\n", strings.Repeat("1", 4096), strings.Repeat("::", 100),
}

// FuzzParse: Parse never panics; what it accepts is a valid network with
// no host bits, at least /8 (IPv4) or /16 (IPv6) wide at most, without
// zone or IPv4-mapped form, and its canonical spelling parses back to the
// same entry and spells the same again; what net/netip refuses (after the
// surrounding spaces Parse trims, as documented) it refuses too.
func FuzzParse(f *testing.F) {
	for _, s := range addressSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := Parse([]string{s})

		trimmed := strings.TrimSpace(s)
		var netipErr error
		if strings.Contains(trimmed, "/") {
			_, netipErr = netip.ParsePrefix(trimmed)
		} else {
			_, netipErr = netip.ParseAddr(trimmed)
		}
		if err != nil {
			if entries != nil {
				t.Fatalf("Parse(%q) returned entries %v with error %v", s, entries, err)
			}
			return
		}
		if netipErr != nil {
			t.Fatalf("Parse(%q) accepted what net/netip refuses: %v", s, netipErr)
		}
		if len(entries) != 1 {
			t.Fatalf("Parse(%q) = %d entries, want 1", s, len(entries))
		}
		e := entries[0]
		switch a := e.Addr(); {
		case !e.IsValid():
			t.Fatalf("Parse(%q) = invalid prefix %#v", s, e)
		case e.Masked() != e:
			t.Fatalf("Parse(%q) = %s, which has host bits set", s, e)
		case a.Zone() != "":
			t.Fatalf("Parse(%q) = %s, which has a zone", s, e)
		case a.Is4In6():
			t.Fatalf("Parse(%q) = %s, an IPv4-mapped IPv6 entry", s, e)
		case e.Bits() < 8 || a.Is6() && e.Bits() < 16:
			t.Fatalf("Parse(%q) = %s, wider than /8 or /16", s, e)
		case a.IsMulticast():
			t.Fatalf("Parse(%q) = %s, a multicast entry", s, e)
		case e.IsSingleIP() && !a.IsGlobalUnicast() && !a.IsLoopback() && !a.IsLinkLocalUnicast():
			t.Fatalf("Parse(%q) = %s, an address no peer can have", s, e)
		}

		spelled := entryString(e)
		again, err := Parse([]string{spelled})
		if err != nil {
			t.Fatalf("Parse(%q) = %s, whose canonical spelling %q does not parse: %v", s, e, spelled, err)
		}
		if again[0] != e {
			t.Fatalf("Parse(%q) = %s, but its canonical spelling %q parses to %s", s, e, spelled, again[0])
		}
		if entryString(again[0]) != spelled {
			t.Fatalf("canonical spelling of %q is not a fixed point: %q then %q", s, spelled, entryString(again[0]))
		}
		if got := Merge(Source{Entries: entries}).Value(); got != spelled {
			t.Fatalf("Merge of %q = %q, want its canonical spelling %q", s, got, spelled)
		}
		// A single address in CIDR form is that address.
		if e.IsSingleIP() && strings.Contains(spelled, "/") {
			t.Fatalf("single address %s spelled as a network: %q", e, spelled)
		}
		if e.IsSingleIP() {
			if p, err := Parse([]string{spelled + "/" + strconv.Itoa(e.Bits())}); err != nil || p[0] != e {
				t.Fatalf("%q/%d = %v, %v; want %s", spelled, e.Bits(), p, err, e)
			}
		}
	})
}

// entriesFrom turns fuzz bytes into entries the way a person or a preset
// file would write them: each record is a tag byte (family, spelling), a
// prefix length and the address bytes, spelled as text and kept only if
// Parse accepts it.
func entriesFrom(data []byte) (entries []Entry, spellings []string) {
	for len(data) >= 2 {
		tag, bits := data[0], int(data[1])
		data = data[2:]
		n := 4
		if tag&1 == 1 {
			n = 16
		}
		var raw [16]byte
		copy(raw[:], data[:min(n, len(data))])
		data = data[min(n, len(data)):]
		var addr netip.Addr
		if n == 4 {
			addr = netip.AddrFrom4([4]byte(raw[:4]))
		} else {
			addr = netip.AddrFrom16(raw)
		}
		bits %= addr.BitLen() + 1
		p, err := addr.Prefix(bits)
		if err != nil {
			continue
		}
		var s string
		switch {
		case tag&2 != 0 && p.IsSingleIP():
			s = p.String() // 10.0.0.1/32
		case tag&4 != 0 && addr.Is6():
			s = strings.ToUpper(p.Addr().StringExpanded()) + "/" + strconv.Itoa(bits)
		default:
			s = entryString(p)
		}
		if parsed, err := Parse([]string{s}); err == nil {
			entries = append(entries, parsed[0])
			spellings = append(spellings, s)
		}
	}
	return entries, spellings
}

// split cuts entries into sources at random points.
func split(entries []Entry, r *rand.Rand) []Source {
	var out []Source
	for len(entries) > 0 {
		n := r.IntN(len(entries) + 1)
		out = append(out, Source{Name: "s" + strconv.Itoa(len(out)), Entries: entries[:n]})
		entries = entries[n:]
	}
	return out
}

// FuzzMerge: the list does not depend on the order of the entries or on
// how they are spread over sources (same entries, strings and hash), is
// idempotent (merging its own entries, or parsing its own strings, gives
// it back), has no duplicates, is in the promised order (IPv4 before IPv6,
// numerically, an address before the networks that start with it), holds
// exactly the entries given, and its hash follows its value.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{0, 32, 10, 0, 0, 1, 0, 32, 10, 0, 0, 1, 2, 32, 10, 0, 0, 1, 0, 8, 10, 0, 0, 0}, uint64(1))
	f.Add([]byte{1, 128, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		5, 128, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		1, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 24, 192, 168, 1, 0, 0, 32, 9, 9, 9, 9, 0, 32, 10, 0, 0, 10}, uint64(42))
	f.Add([]byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		entries, spellings := entriesFrom(data)
		r := rand.New(rand.NewPCG(seed, seed>>1))

		list := Merge(split(entries, r)...)
		got := list.entries

		shuffled := slices.Clone(entries)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		other := Merge(split(shuffled, r)...)
		if !slices.Equal(other.entries, got) || other.Value() != list.Value() || other.Hash() != list.Hash() {
			t.Fatalf("order dependent: %q vs %q", list.Value(), other.Value())
		}
		if again := Merge(Source{Entries: got}); !slices.Equal(again.entries, got) {
			t.Fatalf("not idempotent: %q then %q", list.Value(), again.Value())
		}
		reparsed, err := Parse(list.Strings())
		if err != nil {
			t.Fatalf("the list's own strings %q do not parse: %v", list.Strings(), err)
		}
		if !slices.Equal(Merge(Source{Entries: reparsed}).entries, got) {
			t.Fatalf("parsing the list's strings changes it: %q", list.Value())
		}
		// The text spellings, parsed as one static source, give the same list.
		fromText, err := Parse(spellings)
		if err != nil || Merge(Source{Entries: fromText}).Value() != list.Value() {
			t.Fatalf("parsing %q: %v, list %q", spellings, err, list.Value())
		}

		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if a == b {
				t.Fatalf("duplicate %s in %q", a, list.Value())
			}
			switch c := a.Addr().Compare(b.Addr()); {
			case c > 0:
				t.Fatalf("%s before %s in %q", a, b, list.Value())
			case c == 0 && a.Bits() < b.Bits():
				t.Fatalf("network %s before %s, which starts it, in %q", a, b, list.Value())
			}
			if a.Addr().Is6() && b.Addr().Is4() {
				t.Fatalf("IPv6 %s before IPv4 %s", a, b)
			}
		}
		strs := list.Strings()
		if len(strs) != list.Len() || len(slices.Compact(slices.Clone(strs))) != len(strs) {
			t.Fatalf("Strings() %q: %d entries, Len() %d, or duplicate spellings", strs, len(strs), list.Len())
		}
		for _, e := range entries {
			if !slices.Contains(got, e) {
				t.Fatalf("entry %s lost from %q", e, list.Value())
			}
		}
		for _, e := range got {
			if !slices.Contains(entries, e) {
				t.Fatalf("entry %s in %q was never given", e, list.Value())
			}
		}
		var ranges []string
		for _, e := range got {
			if !e.IsSingleIP() {
				ranges = append(ranges, e.String())
			}
		}
		if !slices.Equal(ranges, list.Ranges()) {
			t.Fatalf("Ranges() = %q, want %q", list.Ranges(), ranges)
		}
		if list.Hash() != Hash(list.Value()) || list.Value() != strings.Join(strs, ",") {
			t.Fatalf("hash or value does not follow the strings")
		}
	})
}

// FuzzReadyAddresses: what is discovered from EndpointSlices is canonical
// (sorted, no duplicates), only single usable addresses, only from
// endpoints that count as ready, and spells as something Parse reads back
// to the same entry: the ConfigMap records discovered addresses as text and
// the operator reads them back with Parse.
func FuzzReadyAddresses(f *testing.F) {
	f.Add("10.42.0.15,10.42.1.23 FD00:10:42::17,::ffff:10.42.0.15,fe80::1%eth0,255.255.255.255,224.0.0.1,0.0.0.0,proxy.example.com", uint64(0x1234))
	f.Add("2001:db8::1,2001:DB8::1,10.0.0.1", uint64(0))
	f.Add("", uint64(7))
	f.Fuzz(func(t *testing.T, addrs string, flags uint64) {
		types := []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}
		var in []discoveryv1.EndpointSlice
		var ready []string
		for i, group := range strings.Split(addrs, " ") {
			bits := flags >> (3 * (i % 21))
			s := discoveryv1.EndpointSlice{AddressType: types[bits%3]}
			for j, a := range strings.Split(group, ",") {
				c := bits >> j
				var cond discoveryv1.EndpointConditions
				if c&2 != 0 {
					cond.Ready = ptr.To(c&4 != 0)
				}
				if c&8 != 0 {
					cond.Terminating = ptr.To(c&16 != 0)
				}
				s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: cond})
				if s.AddressType != discoveryv1.AddressTypeFQDN && (cond.Ready != nil && *cond.Ready || cond.Ready == nil && (cond.Terminating == nil || !*cond.Terminating)) {
					ready = append(ready, a)
				}
			}
			in = append(in, s)
		}
		got := ReadyAddresses(in)
		if !slices.Equal(canonical(got), got) {
			t.Fatalf("ReadyAddresses = %v, not canonical", got)
		}
		for _, e := range got {
			if !e.IsSingleIP() {
				t.Fatalf("discovered a network %s", e)
			}
			back, err := Parse([]string{entryString(e)})
			if err != nil || back[0] != e {
				t.Fatalf("discovered %s, which Parse reads back as %v, %v", e, back, err)
			}
			if !slices.ContainsFunc(ready, func(a string) bool {
				addr, err := netip.ParseAddr(a)
				return err == nil && addr.Unmap() == e.Addr()
			}) {
				t.Fatalf("discovered %s from no ready endpoint", e)
			}
		}
		// Every ready endpoint address that Parse takes (or takes once
		// unmapped) is discovered.
		for _, a := range ready {
			addr, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			if e, err := Parse([]string{addr.Unmap().String()}); err == nil && !slices.Contains(got, e[0]) {
				t.Fatalf("ready address %q not discovered: %v", a, got)
			}
		}
	})
}

// FuzzLeaving: a departure never outlives grace from now, is never for an
// entry that is given now (by this source or another), names its source,
// comes once per entry, and every entry that left is in its grace period
// when there is one.
func FuzzLeaving(f *testing.F) {
	f.Add([]byte{0, 32, 10, 0, 0, 1, 0, 32, 10, 0, 0, 2, 0, 32, 10, 0, 0, 3}, uint64(0b101), uint64(0b011), int64(300), int64(120))
	f.Add([]byte{1, 128, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint64(1), uint64(0), int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, beforeMask, nowMask uint64, graceSeconds, leftSeconds int64) {
		entries, _ := entriesFrom(data)
		entries = canonical(entries)
		at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		grace := time.Duration(graceSeconds%86400) * time.Second
		if grace < 0 {
			grace = -grace
		}
		var before, now, keep []Entry
		var leaving []Departure
		for i, e := range entries {
			bit := uint64(1) << (i % 64)
			switch {
			case beforeMask&bit != 0:
				before = append(before, e)
			case nowMask&bit == 0 && i%3 == 0:
				// Already leaving from an earlier round, or from another source.
				from := "service/a/b"
				if i%2 == 1 {
					from = "service/c/d"
				}
				until := at.Add(time.Duration(leftSeconds%86400+int64(i)) * time.Second)
				leaving = append(leaving, Departure{Entry: e, Until: until, From: from})
			}
			if nowMask&bit != 0 {
				now = append(now, e)
			}
			if i%5 == 4 {
				keep = append(keep, e)
			}
		}
		out := Leaving("service/a/b", before, now, keep, leaving, at, grace)
		seen := map[Entry]bool{}
		for i, d := range out {
			switch {
			case seen[d.Entry]:
				t.Fatalf("entry %s leaves twice: %v", d.Entry, out)
			case d.From != "service/a/b":
				t.Fatalf("departure from %q in the result for service/a/b", d.From)
			case !d.Until.After(at) || d.Until.After(at.Add(grace)):
				t.Fatalf("departure of %s until %s, outside (%s, %s]", d.Entry, d.Until, at, at.Add(grace))
			case slices.Contains(now, d.Entry) || slices.Contains(keep, d.Entry):
				t.Fatalf("entry %s is given now but leaving", d.Entry)
			case i > 0 && out[i-1].Entry.Addr().Compare(d.Entry.Addr()) > 0:
				t.Fatalf("departures out of order: %v", out)
			}
			seen[d.Entry] = true
		}
		if grace > 0 {
			for _, e := range before {
				if !slices.Contains(now, e) && !slices.Contains(keep, e) && !seen[e] {
					t.Fatalf("entry %s left with grace %s but is not leaving", e, grace)
				}
			}
		}
	})
}
