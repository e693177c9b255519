package desired

import (
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
	// HashKey holds the content hash of the list.
	HashKey = "hash"
)

// ConfigMap is the trusted proxy ConfigMap for a PostHogProxy and its list.
func ConfigMap(proxy *proxyv1.PostHogProxy, list trust.List) *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(ConfigMapName(proxy), proxy.Namespace).
		WithLabels(childLabels(proxy)).
		WithOwnerReferences(ownerReference(proxy)).
		WithData(map[string]string{
			TrustedProxiesKey: list.Value(),
			PolicyKey:         string(policy(proxy)),
			HashKey:           list.Hash(),
		})
}

// policy is the trust policy with the API default applied, for objects that
// were never defaulted by an API server (the offline renderer).
func policy(proxy *proxyv1.PostHogProxy) proxyv1.TrustPolicy {
	if proxy.Spec.TrustedProxies.Policy == "" {
		return proxyv1.TrustListed
	}
	return proxy.Spec.TrustedProxies.Policy
}
