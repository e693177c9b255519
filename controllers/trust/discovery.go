package trust

import (
	"net/netip"
	"slices"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// ReadyAddresses are the addresses of the ready endpoints in a Service's
// EndpointSlices, both families, as single-address entries; IPv4-mapped
// spellings are unmapped, and addresses no peer can have are skipped. An
// endpoint whose readiness is unknown counts as ready, as the EndpointSlice
// API says, unless it is terminating.
func ReadyAddresses(endpointSlices []discoveryv1.EndpointSlice) []Entry {
	var out []Entry
	for _, s := range endpointSlices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		for _, ep := range s.Endpoints {
			if !ready(ep.Conditions) {
				continue
			}
			for _, a := range ep.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				addr = addr.Unmap()
				if usableAddr(a, addr) == nil {
					out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
				}
			}
		}
	}
	return canonical(out)
}

// Departure is a discovered address in its grace period.
type Departure struct {
	Entry Entry
	Until time.Time
	// From is the source the address left.
	From string
}

// Leaving works out which addresses of one discovered source stay trusted
// after they left it: those it gave before and does not now, for grace from
// now, and those already leaving whose grace has not ended and that have
// not come back. No departure outlives grace from now, so a shorter grace
// takes effect at once. Addresses in keep (given by another source) are not
// leaving.
func Leaving(from string, before, now, keep []Entry, leaving []Departure, at time.Time, grace time.Duration) []Departure {
	stays := func(e Entry) bool { return slices.Contains(now, e) || slices.Contains(keep, e) }
	var out []Departure
	for _, d := range leaving {
		// Shortened first: a grace cut to 0 ends the departure now.
		d.Until = minTime(d.Until, at.Add(grace))
		if d.From == from && d.Until.After(at) && !stays(d.Entry) {
			out = append(out, d)
		}
	}
	if grace > 0 {
		for _, e := range before {
			if !stays(e) && !slices.ContainsFunc(out, func(d Departure) bool { return d.Entry == e }) {
				out = append(out, Departure{Entry: e, Until: at.Add(grace), From: from})
			}
		}
	}
	slices.SortFunc(out, func(a, b Departure) int { return a.Entry.Addr().Compare(b.Entry.Addr()) })
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func ready(c discoveryv1.EndpointConditions) bool {
	if c.Ready != nil {
		return *c.Ready
	}
	return c.Terminating == nil || !*c.Terminating
}
