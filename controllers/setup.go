package controllers

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

const (
	// targetIndex indexes PostHogProxies by the names of their target
	// Deployments, so a Deployment event finds the resources that patch it.
	targetIndex = "spec.targets.name"
	// serviceIndex indexes PostHogProxies by the "namespace/name" of the
	// Services whose endpoints they trust, so an EndpointSlice event finds
	// the resources whose list it changes.
	serviceIndex = "spec.trustedProxies.services"
	// hostIndex indexes PostHogProxies by host, so a change of one finds
	// the others that share a host with it, in any namespace.
	hostIndex = "spec.hosts"
)

func each[T any](items []T, key func(T) string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = key(item)
	}
	return out
}

// SetupWithManager registers the reconciler, its index and its watches.
func (r *PostHogProxyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	indexes := map[string]func(*proxyv1.PostHogProxy) []string{
		targetIndex: func(p *proxyv1.PostHogProxy) []string {
			return each(p.Spec.Targets, func(t proxyv1.TargetDeployment) string { return t.Name })
		},
		serviceIndex: func(p *proxyv1.PostHogProxy) []string {
			return each(p.Spec.TrustedProxies.Services, func(r proxyv1.ServiceReference) string { return r.Namespace + "/" + r.Name })
		},
		hostIndex: func(p *proxyv1.PostHogProxy) []string {
			return each(p.Spec.Hosts, func(h proxyv1.Hostname) string { return string(h) })
		},
	}
	for field, values := range indexes {
		err := mgr.GetFieldIndexer().IndexField(context.Background(), &proxyv1.PostHogProxy{}, field,
			func(obj client.Object) []string { return values(obj.(*proxyv1.PostHogProxy)) })
		if err != nil {
			return err
		}
	}

	return ctrl.NewControllerManagedBy(mgr).
		// Status writes of its own do not wake the reconciler; spec changes,
		// the start of a deletion and a finalizer removed by hand do.
		For(&proxyv1.PostHogProxy{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deleting, finalizersChanged))).
		Owns(&corev1.ConfigMap{}).
		Owns(&networkingv1.Ingress{}).
		// Only metadata: a Deployment's spec is read when reconciling. A
		// generation change covers containers renamed or env edited; create
		// and delete always pass.
		WatchesMetadata(&appsv1.Deployment{},
			handler.EnqueueRequestsFromMapFunc(r.proxiesForDeployment),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(r.proxiesForEndpointSlice)).
		// Who serves a host is decided among all PostHogProxies: a change of
		// one, or its deletion, can hand a host to another.
		Watches(&proxyv1.PostHogProxy{}, handler.EnqueueRequestsFromMapFunc(r.proxiesSharingHosts),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deleting))).
		Named("posthogproxy").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

var deleting = predicate.NewPredicateFuncs(func(obj client.Object) bool {
	return !obj.GetDeletionTimestamp().IsZero()
})

// proxiesSharingHosts maps a PostHogProxy to the others that serve one of
// its hosts.
func (r *PostHogProxyReconciler) proxiesSharingHosts(ctx context.Context, obj client.Object) []reconcile.Request {
	proxy := obj.(*proxyv1.PostHogProxy)
	var requests []reconcile.Request
	for _, h := range proxy.Spec.Hosts {
		list := &proxyv1.PostHogProxyList{}
		if err := r.Client.List(ctx, list, client.MatchingFields{hostIndex: string(h)}); err != nil {
			logf.FromContext(ctx).Error(err, "listing PostHogProxies for a host", "host", h)
			continue
		}
		for _, p := range list.Items {
			if p.UID != proxy.UID {
				requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
			}
		}
	}
	return requests
}

// proxiesForEndpointSlice maps an EndpointSlice to the PostHogProxies that
// trust the endpoints of its Service, in any namespace.
func (r *PostHogProxyReconciler) proxiesForEndpointSlice(ctx context.Context, obj client.Object) []reconcile.Request {
	service := obj.GetLabels()[discoveryv1.LabelServiceName]
	if service == "" {
		return nil
	}
	list := &proxyv1.PostHogProxyList{}
	if err := r.Client.List(ctx, list, client.MatchingFields{serviceIndex: obj.GetNamespace() + "/" + service}); err != nil {
		logf.FromContext(ctx).Error(err, "listing PostHogProxies for an EndpointSlice", "endpointslice", client.ObjectKeyFromObject(obj))
		return nil
	}
	requests := make([]reconcile.Request, len(list.Items))
	for i, p := range list.Items {
		requests[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}}
	}
	return requests
}

var finalizersChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return !slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers())
}}

// proxiesForDeployment maps a Deployment to the PostHogProxies that target
// it or that patched it before their spec changed.
func (r *PostHogProxyReconciler) proxiesForDeployment(ctx context.Context, obj client.Object) []reconcile.Request {
	list := &proxyv1.PostHogProxyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{targetIndex: obj.GetName()}); err != nil {
		// Only a broken cache fails here; the periodic resync catches up.
		logf.FromContext(ctx).Error(err, "listing PostHogProxies for a Deployment", "deployment", client.ObjectKeyFromObject(obj))
		return nil
	}
	requests := make([]reconcile.Request, 0, len(list.Items)+1)
	for _, p := range list.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
	}
	if by := obj.GetAnnotations()[desired.PatchedByAnnotation]; by != "" {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: by}})
	}
	return requests
}
