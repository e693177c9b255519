package trust

import (
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func TestReadyAddresses(t *testing.T) {
	ep := func(ready *bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	slicesIn := []discoveryv1.EndpointSlice{
		{AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{
			ep(ptr.To(true), "10.42.0.15"), ep(nil, "10.42.1.23"), ep(ptr.To(false), "10.42.2.9"),
		}},
		{AddressType: discoveryv1.AddressTypeIPv6, Endpoints: []discoveryv1.Endpoint{
			ep(ptr.To(true), "FD00:10:42::17"), ep(ptr.To(true), "10.42.0.15"),
		}},
		{AddressType: discoveryv1.AddressTypeFQDN, Endpoints: []discoveryv1.Endpoint{ep(ptr.To(true), "proxy.example.com")}},
		{AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.3.3"}, Conditions: discoveryv1.EndpointConditions{Terminating: ptr.To(true)}},
			ep(ptr.To(true), "255.255.255.255"),
		}},
	}
	got := Merge(Source{Entries: ReadyAddresses(slicesIn)}).Value()
	if want := "10.42.0.15,10.42.1.23,fd00:10:42::17"; got != want {
		t.Errorf("ReadyAddresses = %q, want %q (ready or unknown and not terminating, both families, no FQDN, no broadcast)", got, want)
	}
}

func TestLeaving(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	e := func(s string) Entry {
		entries, err := Parse([]string{s})
		if err != nil {
			t.Fatal(err)
		}
		return entries[0]
	}
	a, b, c := e("10.0.0.1"), e("10.0.0.2"), e("10.0.0.3")
	const svc, other = "service/ingress/nginx", "service/ingress/other"
	tests := []struct {
		name    string
		before  []Entry
		now     []Entry
		keep    []Entry
		leaving []Departure
		grace   time.Duration
		want    []Departure
	}{
		{"nothing left", []Entry{a}, []Entry{a}, nil, nil, time.Minute, nil},
		{"one left: trusted for the grace period", []Entry{a, b}, []Entry{a}, nil, nil, time.Minute,
			[]Departure{{b, at.Add(time.Minute), svc}}},
		{"no grace: dropped at once", []Entry{a, b}, []Entry{a}, nil, nil, 0, nil},
		{"still in grace: kept with its first deadline", []Entry{a}, []Entry{a}, nil, []Departure{{b, at.Add(30 * time.Second), svc}}, time.Minute,
			[]Departure{{b, at.Add(30 * time.Second), svc}}},
		{"a shorter grace takes effect at once", []Entry{a}, []Entry{a}, nil, []Departure{{b, at.Add(24 * time.Hour), svc}}, time.Minute,
			[]Departure{{b, at.Add(time.Minute), svc}}},
		{"grace cut to 0: an earlier departure ends now", []Entry{a}, []Entry{a}, nil, []Departure{{b, at.Add(time.Minute), svc}}, 0, nil},
		{"grace over: dropped", []Entry{a}, []Entry{a}, nil, []Departure{{b, at, svc}}, time.Minute, nil},
		{"came back: no longer leaving", []Entry{a}, []Entry{a, b}, nil, []Departure{{b, at.Add(time.Minute), svc}}, time.Minute, nil},
		{"still given by another source: not leaving", []Entry{a, b}, []Entry{a}, []Entry{b}, nil, time.Minute, nil},
		{"another source's departures are not this one's", []Entry{a}, []Entry{a}, nil, []Departure{{b, at.Add(time.Minute), other}}, time.Minute, nil},
		{"a replaced rollout keeps every old address", []Entry{a, b}, []Entry{c}, nil, nil, time.Minute,
			[]Departure{{a, at.Add(time.Minute), svc}, {b, at.Add(time.Minute), svc}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Leaving(svc, tt.before, tt.now, tt.keep, tt.leaving, at, tt.grace)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Leaving = %v, want %v", got, tt.want)
			}
		})
	}
}
