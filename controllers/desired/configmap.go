package desired

import (
	"encoding/json"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Keys of the trusted proxy ConfigMap.
const (
	// TrustedProxiesKey holds the list exactly as TRUSTED_PROXIES takes it.
	TrustedProxiesKey = "TRUSTED_PROXIES"
	// PolicyKey holds spec.trustedProxies.policy, so that a reader of the
	// ConfigMap can tell an empty list from trusting everyone.
	PolicyKey = "policy"
	// MatchingKey holds spec.trustedProxies.matching.
	MatchingKey = "matching"
	// HashKey holds the content hash of the list.
	HashKey = "hash"
	// SourcesKey holds, as JSON, the entries each source gave: what a
	// person reads to see why an address is trusted, and what the operator
	// reads back to see which discovered addresses left.
	SourcesKey = "sources.json"
)

// SourceRecord is one source as the ConfigMap records it.
type SourceRecord struct {
	Name    string   `json:"name"`
	Version string   `json:"version,omitempty"`
	Entries []string `json:"entries"`
	// Departures, on the leaving record, say until when each address that
	// left a Service stays, and which Service it left.
	Departures []DepartureRecord `json:"departures,omitempty"`
}

// DepartureRecord is one address in its grace period.
type DepartureRecord struct {
	Address string      `json:"address"`
	Until   metav1.Time `json:"until"`
	From    string      `json:"from"`
}

// ConfigMap is the trusted proxy ConfigMap for a PostHogProxy and its list.
// Besides the list PostHog reads, it keeps what each source gave and the
// departures in their grace period: the state the next list is built from,
// kept next to the list it explains, so that neither can be written
// without the other.
func ConfigMap(proxy *proxyv1.PostHogProxy, proxies ProxyList) *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(ConfigMapName(proxy), proxy.Namespace).
		WithLabels(childLabels(proxy)).
		WithOwnerReferences(ownerReference(proxy)).
		WithData(map[string]string{
			TrustedProxiesKey: proxies.List.Value(),
			PolicyKey:         string(policy(proxy)),
			MatchingKey:       string(matching(proxy)),
			HashKey:           proxies.List.Hash(),
			SourcesKey:        sourcesJSON(proxies),
		})
}

func sourcesJSON(proxies ProxyList) string {
	records := []SourceRecord{}
	for _, s := range proxies.List.Sources() {
		r := SourceRecord{Name: s.Name, Version: s.Version, Entries: trust.Merge(trust.Source{Entries: s.Entries}).Strings()}
		if s.Name == LeavingSource {
			for _, d := range proxies.Leaving {
				r.Departures = append(r.Departures, DepartureRecord{Address: d.Entry.Addr().String(), Until: *ptrTime(d.Until), From: d.From})
			}
		}
		records = append(records, r)
	}
	data, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		panic(err) // strings and times only: cannot fail
	}
	return string(data)
}

// Published is what a published ConfigMap says the next list is built
// from: the addresses each discovered Service gave, and the departures.
type Published struct {
	Discovered map[string][]trust.Entry
	Leaving    []trust.Departure
}

// ReadPublished reads the state back from a published ConfigMap's data. It
// believes the records only when they add up to the published list and
// that list to its hash: a hand edit of sources.json alone never makes the
// operator trust anything, it only costs the grace of addresses leaving at
// that moment.
func ReadPublished(data map[string]string) (Published, bool) {
	var records []SourceRecord
	if json.Unmarshal([]byte(data[SourcesKey]), &records) != nil {
		return Published{}, false
	}
	out := Published{Discovered: map[string][]trust.Entry{}}
	var all []trust.Entry
	for _, r := range records {
		entries, err := trust.Parse(r.Entries)
		if err != nil {
			return Published{}, false
		}
		all = append(all, entries...)
		if strings.HasPrefix(r.Name, "service/") {
			out.Discovered[r.Name] = entries
		}
		for _, d := range r.Departures {
			entry, err := trust.Parse([]string{d.Address})
			if err != nil || !slices.Contains(entries, entry[0]) {
				return Published{}, false
			}
			out.Leaving = append(out.Leaving, trust.Departure{Entry: entry[0], Until: d.Until.Time, From: d.From})
		}
	}
	list := trust.Merge(trust.Source{Entries: all})
	if list.Value() != data[TrustedProxiesKey] || list.Hash() != data[HashKey] {
		return Published{}, false
	}
	return out, true
}

// policy is the trust policy with the API default applied, for objects that
// were never defaulted by an API server (the offline renderer).
func policy(proxy *proxyv1.PostHogProxy) proxyv1.TrustPolicy {
	if proxy.Spec.TrustedProxies.Policy == "" {
		return proxyv1.TrustListed
	}
	return proxy.Spec.TrustedProxies.Policy
}
