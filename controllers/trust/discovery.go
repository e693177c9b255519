package trust

import (
	"net/netip"
	"slices"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// ReadyAddresses are the addresses of the ready endpoints in a Service's
// EndpointSlices, both families, as single-address entries. An endpoint
// whose readiness is unknown counts as ready, as the EndpointSlice API
// says; a terminating one does not.
func ReadyAddresses(endpointSlices []discoveryv1.EndpointSlice) []Entry {
	var out []Entry
	for _, s := range endpointSlices {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if addr, err := netip.ParseAddr(a); err == nil {
					addr = addr.Unmap()
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
}

// Leaving works out which discovered addresses stay trusted after they left
// their Service: those that were discovered before and are not now, for
// grace from now, and those already leaving whose grace has not ended and
// that have not come back.
func Leaving(before, now []Entry, leaving []Departure, at time.Time, grace time.Duration) []Departure {
	var out []Departure
	for _, d := range leaving {
		if d.Until.After(at) && !slices.Contains(now, d.Entry) {
			out = append(out, d)
		}
	}
	if grace > 0 {
		for _, e := range before {
			if !slices.Contains(now, e) && !slices.ContainsFunc(out, func(d Departure) bool { return d.Entry == e }) {
				out = append(out, Departure{Entry: e, Until: at.Add(grace)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Departure) int { return a.Entry.Addr().Compare(b.Entry.Addr()) })
	return out
}
