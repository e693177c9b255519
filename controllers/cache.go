package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// CacheOptions keep the manager's memory in proportion to its own work, not
// to the cluster: only the operator's own ConfigMaps and Ingresses are
// cached; every Deployment and EndpointSlice is watched, but only what the
// operator reads of them is kept. With namespaces, only those are watched.
func CacheOptions(namespaces ...string) cache.Options {
	own := labels.SelectorFromSet(labels.Set{desired.ManagedByLabel: desired.ManagedByValue})
	var defaults map[string]cache.Config
	if len(namespaces) > 0 {
		defaults = map[string]cache.Config{}
		for _, ns := range namespaces {
			defaults[ns] = cache.Config{}
		}
	}
	return cache.Options{DefaultNamespaces: defaults, ByObject: map[client.Object]cache.ByObject{
		&corev1.ConfigMap{}:          {Label: own},
		&networkingv1.Ingress{}:      {Label: own},
		&appsv1.Deployment{}:         {Transform: trimmed(trimDeploymentMetadata)},
		&discoveryv1.EndpointSlice{}: {Transform: trimmed(trimEndpointSlice)},
	}}
}

// trimmed turns a trimming function into a cache transform for the one
// type it trims; anything else passes unchanged.
func trimmed[T any](trim func(T) T) toolscache.TransformFunc {
	return func(in any) (any, error) {
		if obj, ok := in.(T); ok {
			return trim(obj), nil
		}
		return in, nil
	}
}

// identity is the metadata every cached object keeps: what the cache and
// the watches need to key, order and tell deletions.
func identity(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, DeletionTimestamp: m.DeletionTimestamp,
	}
}

// trimDeploymentMetadata keeps of a watched Deployment its identity and
// generation (a change wakes the PostHogProxies that target it), the
// annotation naming the PostHogProxy that patched it, and whether the
// operator's field manager has applied to it (without the fields: those
// are read with the spec, from the API server, when reconciling).
func trimDeploymentMetadata(d *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	out := &metav1.PartialObjectMetadata{TypeMeta: d.TypeMeta, ObjectMeta: identity(d.ObjectMeta)}
	if by, ok := d.Annotations[desired.PatchedByAnnotation]; ok {
		out.Annotations = map[string]string{desired.PatchedByAnnotation: by}
	}
	for _, e := range d.ManagedFields {
		if e.Manager == desired.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			out.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: e.Manager, Operation: e.Operation}}
		}
	}
	return out
}

// trimEndpointSlice keeps what trusting a Service's endpoints reads: the
// Service it belongs to, the address type, and each endpoint's addresses
// and readiness.
func trimEndpointSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{TypeMeta: s.TypeMeta, ObjectMeta: identity(s.ObjectMeta), AddressType: s.AddressType}
	if service, ok := s.Labels[discoveryv1.LabelServiceName]; ok {
		out.Labels = map[string]string{discoveryv1.LabelServiceName: service}
	}
	if len(s.Endpoints) > 0 {
		out.Endpoints = make([]discoveryv1.Endpoint, len(s.Endpoints))
		for i, ep := range s.Endpoints {
			out.Endpoints[i] = discoveryv1.Endpoint{Addresses: ep.Addresses,
				Conditions: discoveryv1.EndpointConditions{Ready: ep.Conditions.Ready, Terminating: ep.Conditions.Terminating}}
		}
	}
	return out
}
