package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

func (r *PostHogProxyReconciler) applyConfigMap(ctx context.Context, proxy *proxyv1.PostHogProxy, want *corev1ac.ConfigMapApplyConfiguration) error {
	live := &corev1.ConfigMap{}
	return r.applyChild(ctx, proxy, "ConfigMap", desired.ConfigMapName(proxy), live, want, func() runtime.ApplyConfiguration {
		owned, err := corev1ac.ExtractConfigMap(live, desired.FieldManager)
		return extracted(ctx, owned, err)
	})
}

// applyIngresses applies the planned Ingresses for the hosts this
// PostHogProxy may serve, private first and stopping at the first failure
// (so a failed switch to Split never leaves the app unserved), then deletes
// its Ingresses that are no longer planned. It returns the plans it
// applied, nil when it could not apply them.
// all are the PostHogProxies of every namespace, which share the hosts.
func (r *PostHogProxyReconciler) applyIngresses(ctx context.Context, proxy *proxyv1.PostHogProxy, all []proxyv1.PostHogProxy) ([]desired.IngressPlan, error) {
	hosts, conflict := desired.ServedHosts(proxy, all)
	plans := desired.IngressPlans(proxy, hosts)
	for _, plan := range plans {
		live := &networkingv1.Ingress{}
		err := r.applyChild(ctx, proxy, "Ingress", plan.Name, live, desired.Ingress(proxy, plan), func() runtime.ApplyConfiguration {
			owned, err := networkingv1ac.ExtractIngress(live, desired.FieldManager)
			return extracted(ctx, owned, err)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := r.deleteStaleIngresses(ctx, proxy, plans); err != nil {
		return nil, err
	}
	if conflict != nil {
		return plans, conflict
	}
	return plans, nil
}

func (r *PostHogProxyReconciler) deleteStaleIngresses(ctx context.Context, proxy *proxyv1.PostHogProxy, keep []desired.IngressPlan) error {
	ours := &networkingv1.IngressList{}
	if err := r.Client.List(ctx, ours, client.InNamespace(proxy.Namespace),
		client.MatchingLabels{desired.InstanceLabel: proxy.Name}); err != nil {
		return err
	}
	var errs []error
	for i := range ours.Items {
		ing := &ours.Items[i]
		if slices.ContainsFunc(keep, func(p desired.IngressPlan) bool { return p.Name == ing.Name }) || !metav1.IsControlledBy(ing, proxy) {
			continue
		}
		errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, ing, client.Preconditions{UID: &ing.UID})))
	}
	return errors.Join(errs...)
}

// applyChild applies an object the operator owns. A hand edit of the
// operator's fields is put back (the apply forces), but an object of the
// same name that is not this PostHogProxy's is never taken over. The cache
// holds only objects with the operator's label, so a miss is checked
// against the API server before anything is created.
func (r *PostHogProxyReconciler) applyChild(ctx context.Context, proxy *proxyv1.PostHogProxy, kind, name string, live client.Object, want runtime.ApplyConfiguration, owned func() runtime.ApplyConfiguration) error {
	key := types.NamespacedName{Namespace: proxy.Namespace, Name: name}
	err := r.Client.Get(ctx, key, live)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, live)
	}
	var current runtime.ApplyConfiguration
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case !desired.Adoptable(live, proxy):
		return &desired.Problem{Reason: proxyv1.ReasonAlreadyExists, Message: fmt.Sprintf(
			"%s %s already exists and is not controlled by this PostHogProxy; the operator does not take over objects it did not create: delete or rename that %s, or rename the PostHogProxy",
			kind, name, kind)}
	default:
		current = owned()
	}
	return rejected(kind, name, applyIfChanged(ctx, r.Client, want, current, client.ForceOwnership))
}
