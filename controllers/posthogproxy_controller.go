// Package controllers holds the PostHogProxy reconciler: it observes the
// cluster, asks package desired what should exist, applies that with
// server-side apply, and reports status.
package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// pollInterval is how often a PostHogProxy that waits for something no
// watch reports looks again (see desired.Outcome.NeedsPolling).
const pollInterval = time.Minute

// PostHogProxyReconciler keeps the children and environment patches of each
// PostHogProxy in step with its spec.
type PostHogProxyReconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads target Deployments straight from the API server: the
	// cache holds only their metadata, so watching every Deployment in the
	// cluster stays cheap.
	APIReader client.Reader
	// Presets are the preset lists of trusted proxies the operator knows.
	Presets trust.Presets
	// Now tells the time; nil means the wall clock.
	Now func() time.Time
	// MaxConcurrentReconciles is how many PostHogProxies are reconciled at
	// once; 0 means one.
	MaxConcurrentReconciles int
}

func (r *PostHogProxyReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies/status,verbs=patch
// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=services,verbs=get

// Reconcile is fetch, build, apply, report.
func (r *PostHogProxyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	proxy := &proxyv1.PostHogProxy{}
	if err := r.Client.Get(ctx, req.NamespacedName, proxy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !proxy.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, proxy)
	}
	if err := r.ensureFinalizer(ctx, proxy); err != nil {
		return ctrl.Result{}, err
	}

	in, err := r.observeProxies(ctx, proxy)
	if err != nil {
		return ctrl.Result{}, err
	}
	out, err := r.apply(ctx, proxy, desired.TrustedProxyList(proxy, in), in)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.report(ctx, proxy, out); err != nil {
		return ctrl.Result{}, err
	}
	return next(out)
}

// apply applies the ConfigMap, the Ingress and the patch on each target, and
// takes the patch back from Deployments that left the spec. The error is
// for what stops the reconcile; what happened to each part is the outcome.
func (r *PostHogProxyReconciler) apply(ctx context.Context, proxy *proxyv1.PostHogProxy, proxies desired.ProxyList, in desired.ProxyInputs) (desired.Outcome, error) {
	out := desired.Outcome{Now: in.Now, Proxies: proxies}
	if proxies.Blocked != nil {
		out.TrustedProxies = proxies.Blocked
	} else {
		out.TrustedProxies = r.applyConfigMap(ctx, proxy, desired.ConfigMap(proxy, proxies))
	}
	if out.TrustedProxies == nil {
		out.Plan = desired.PlanRollout(proxy, proxies.List.Hash(), in.Now)
	}
	if out.TrustedProxies != nil && in.PublishedHash != "" {
		// The last published list stays; the pods keep it.
		out.Plan = desired.KeepRolled(proxy, in.PublishedHash)
	}
	all, neighbours, err := r.proxies(ctx, proxy)
	if err != nil {
		return out, err
	}
	out.Ingresses, out.Ingress = r.applyIngresses(ctx, proxy, all)
	targets := map[string]bool{}
	for _, target := range proxy.Spec.Targets {
		targets[target.Name] = true
		if out.Plan.Hash == "" {
			// Pods must never roll onto a reference to a list that is not
			// published yet.
			out.Targets = append(out.Targets, heldBack(target.Name, out.TrustedProxies))
			continue
		}
		result, risks := r.patchTarget(ctx, proxy, neighbours, target, out.Plan.Hash)
		out.Targets = append(out.Targets, result)
		out.ProbeRisks = append(out.ProbeRisks, risks...)
	}
	return out, r.releaseAll(ctx, proxy, neighbours, targets)
}

// next says when to reconcile again. A failed call is retried with the
// controller's backoff. A problem that needs a person waits for a watch
// event, except what no watch reports (NeedsPolling), which is looked at
// again every minute. A list change waiting for its rollout window, and an
// address whose grace period ends, come back on time.
func next(out desired.Outcome) (ctrl.Result, error) {
	if err := out.Err(); err != nil {
		return ctrl.Result{}, err
	}
	after := out.RecheckAfter()
	if out.NeedsPolling() && (after == 0 || pollInterval < after) {
		after = pollInterval
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

func (r *PostHogProxyReconciler) ensureFinalizer(ctx context.Context, proxy *proxyv1.PostHogProxy) error {
	if controllerutil.ContainsFinalizer(proxy, desired.Finalizer) {
		return nil
	}
	base := proxy.DeepCopy()
	controllerutil.AddFinalizer(proxy, desired.Finalizer)
	return r.Client.Patch(ctx, proxy, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// finalize takes back the environment patches; the ConfigMap and Ingress go
// with the owner reference.
func (r *PostHogProxyReconciler) finalize(ctx context.Context, proxy *proxyv1.PostHogProxy) error {
	if !controllerutil.ContainsFinalizer(proxy, desired.Finalizer) {
		return nil
	}
	_, neighbours, err := r.proxies(ctx, proxy)
	if err != nil {
		return err
	}
	if err := r.releaseAll(ctx, proxy, neighbours, nil); err != nil {
		return err
	}
	base := proxy.DeepCopy()
	controllerutil.RemoveFinalizer(proxy, desired.Finalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, proxy, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})))
}

// report writes the status an outcome calls for, only when it changed.
func (r *PostHogProxyReconciler) report(ctx context.Context, proxy *proxyv1.PostHogProxy, out desired.Outcome) error {
	status := desired.Status(proxy, out)
	if equality.Semantic.DeepEqual(status, proxy.Status) {
		return nil
	}
	base := proxy.DeepCopy()
	proxy.Status = status
	if err := r.Client.Status().Patch(ctx, proxy, client.MergeFrom(base)); err != nil {
		return err
	}
	logf.FromContext(ctx).V(1).Info("status updated", "ready", readyStatus(status))
	return nil
}

func readyStatus(status proxyv1.PostHogProxyStatus) metav1.ConditionStatus {
	for _, c := range status.Conditions {
		if c.Type == proxyv1.ConditionReady {
			return c.Status
		}
	}
	return metav1.ConditionUnknown
}
