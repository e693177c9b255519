// Package desired computes, with pure functions, everything the operator
// wants to exist for one PostHogProxy: the trusted proxy ConfigMap, the
// Ingress, the environment patch on each target Deployment, and the status
// conditions. The controller and the offline renderer both call it.
package desired

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

const (
	// FieldManager is the one server-side apply field manager the operator
	// writes with. GitOps tools can be told to ignore fields it owns.
	FieldManager = "posthog-proxy-operator"

	// ManagedByLabel and ManagedByValue mark every object the operator
	// creates; the manager's cache only watches objects that carry them.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "posthog-proxy-operator"
	// InstanceLabel names the PostHogProxy an object belongs to.
	InstanceLabel = "proxy.posthog-operator.io/instance"

	// PatchedByAnnotation on a target Deployment names the PostHogProxy
	// whose variables it carries, so the operator can find and take back
	// its patches, and two resources never patch one Deployment.
	PatchedByAnnotation = "proxy.posthog-operator.io/patched-by"
	// ConfigHashAnnotation on the pod template changes exactly when the
	// effective proxy configuration changes, which rolls the pods.
	ConfigHashAnnotation = "proxy.posthog-operator.io/config-hash"

	// Finalizer holds deletion until the environment patches are taken back.
	Finalizer = "proxy.posthog-operator.io/take-back-env"
)

// ConfigMapName is the name of the trusted proxy ConfigMap of a PostHogProxy.
func ConfigMapName(proxy *proxyv1.PostHogProxy) string {
	return proxy.Name + "-trusted-proxies"
}

// IngressName is the name of the Ingress of a PostHogProxy.
func IngressName(proxy *proxyv1.PostHogProxy) string { return proxy.Name }

// childLabels are the labels of every object the operator owns. They never
// include the PostHogProxy's own labels: a GitOps tool tracking those would
// take the children for its own and prune them.
func childLabels(proxy *proxyv1.PostHogProxy) map[string]string {
	return map[string]string{ManagedByLabel: ManagedByValue, InstanceLabel: proxy.Name}
}

func ownerReference(proxy *proxyv1.PostHogProxy) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(proxyv1.GroupVersion.String()).
		WithKind("PostHogProxy").
		WithName(proxy.Name).
		WithUID(proxy.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// Adoptable says whether an existing object of a child's name may be
// applied over: it is controlled by this PostHogProxy, or it was made by the
// operator for an earlier PostHogProxy of the same name (deleted and created
// again before the garbage collector came by). Anything else is someone
// else's and is never taken over.
func Adoptable(obj metav1.Object, proxy *proxyv1.PostHogProxy) bool {
	if metav1.IsControlledBy(obj, proxy) {
		return true
	}
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.APIVersion == proxyv1.GroupVersion.String() && ref.Kind == "PostHogProxy" &&
		ref.Name == proxy.Name &&
		obj.GetLabels()[ManagedByLabel] == ManagedByValue && obj.GetLabels()[InstanceLabel] == proxy.Name
}
