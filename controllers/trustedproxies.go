package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// observeProxies gathers what the trusted proxy list is built from: the
// ready endpoints of each discovered Service, the presets, and what the
// published ConfigMap remembers.
func (r *PostHogProxyReconciler) observeProxies(ctx context.Context, proxy *proxyv1.PostHogProxy) (desired.ProxyInputs, error) {
	in := desired.ProxyInputs{
		Now:      r.now(),
		Presets:  r.Presets,
		Services: map[proxyv1.ServiceReference]desired.ServiceEndpoints{},
	}
	for _, ref := range proxy.Spec.TrustedProxies.Services {
		found, err := r.serviceEndpoints(ctx, ref)
		if err != nil {
			return in, err
		}
		in.Services[ref] = found
	}

	published := &corev1.ConfigMap{}
	switch err := r.Client.Get(ctx, types.NamespacedName{Namespace: proxy.Namespace, Name: desired.ConfigMapName(proxy)}, published); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return in, err
	case desired.Adoptable(published, proxy):
		in.Published, _ = desired.ReadPublished(published.Data)
		in.PublishedHash = published.Data[desired.HashKey]
	}
	return in, nil
}

// serviceEndpoints reads the ready addresses behind a Service from its
// EndpointSlices. Only when it has none does the operator ask the API
// server whether the Service exists: Services are not cached.
func (r *PostHogProxyReconciler) serviceEndpoints(ctx context.Context, ref proxyv1.ServiceReference) (desired.ServiceEndpoints, error) {
	slices := &discoveryv1.EndpointSliceList{}
	if err := r.Client.List(ctx, slices, client.InNamespace(ref.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: ref.Name}); err != nil {
		return desired.ServiceEndpoints{}, err
	}
	if len(slices.Items) > 0 {
		return desired.ServiceEndpoints{Found: true, Ready: trust.ReadyAddresses(slices.Items)}, nil
	}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &corev1.Service{})
	switch {
	case apierrors.IsNotFound(err):
		return desired.ServiceEndpoints{}, nil
	case err != nil:
		return desired.ServiceEndpoints{}, err
	}
	return desired.ServiceEndpoints{Found: true}, nil
}
