package desired

import (
	"encoding/json"
	"strings"

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
}

// ConfigMap is the trusted proxy ConfigMap for a PostHogProxy and its list.
func ConfigMap(proxy *proxyv1.PostHogProxy, list trust.List) *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(ConfigMapName(proxy), proxy.Namespace).
		WithLabels(childLabels(proxy)).
		WithOwnerReferences(ownerReference(proxy)).
		WithData(map[string]string{
			TrustedProxiesKey: list.Value(),
			PolicyKey:         string(policy(proxy)),
			MatchingKey:       string(matching(proxy)),
			HashKey:           list.Hash(),
			SourcesKey:        sourcesJSON(list),
		})
}

func sourcesJSON(list trust.List) string {
	records := []SourceRecord{}
	for _, s := range list.Sources() {
		entries := trust.Merge(trust.Source{Entries: s.Entries}).Strings()
		records = append(records, SourceRecord{Name: s.Name, Version: s.Version, Entries: entries})
	}
	data, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return string(data)
}

// DiscoveredEntries reads back, from a published ConfigMap's data, the
// addresses its discovered Services gave.
func DiscoveredEntries(data map[string]string) []trust.Entry {
	var records []SourceRecord
	if json.Unmarshal([]byte(data[SourcesKey]), &records) != nil {
		return nil
	}
	var out []trust.Entry
	for _, r := range records {
		if strings.HasPrefix(r.Name, "service/") {
			if entries, err := trust.Parse(r.Entries); err == nil {
				out = append(out, entries...)
			}
		}
	}
	return out
}

// policy is the trust policy with the API default applied, for objects that
// were never defaulted by an API server (the offline renderer).
func policy(proxy *proxyv1.PostHogProxy) proxyv1.TrustPolicy {
	if proxy.Spec.TrustedProxies.Policy == "" {
		return proxyv1.TrustListed
	}
	return proxy.Spec.TrustedProxies.Policy
}
