// Package controllers holds the PostHogProxy reconciler: it observes the
// cluster, asks package desired what should exist, applies that with
// server-side apply, and reports status.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// nameTakenRecheck is how often a PostHogProxy whose ConfigMap or Ingress
// name is taken by an object it does not control looks again.
const nameTakenRecheck = time.Minute

// PostHogProxyReconciler keeps the children and environment patches of each
// PostHogProxy in step with its spec.
type PostHogProxyReconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads target Deployments straight from the API server: the
	// cache holds only their metadata, so watching every Deployment in the
	// cluster stays cheap.
	APIReader client.Reader
}

// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies/status,verbs=patch
// +kubebuilder:rbac:groups=proxy.posthog-operator.io,resources=posthogproxies/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch

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

	list, err := trust.Parse(addressStrings(proxy))
	if err != nil {
		// The schema admits only valid addresses, so this is an object stored
		// before a rule existed: keep what was applied and say what to fix.
		return ctrl.Result{}, r.report(ctx, proxy, desired.Outcome{Invalid: &desired.Problem{
			Reason: proxyv1.ReasonInvalidSpec, Message: "spec.trustedProxies.addresses: " + err.Error(),
		}})
	}

	out := desired.Outcome{List: list}
	out.TrustedProxies = r.applyConfigMap(ctx, proxy, desired.ConfigMap(proxy, list))
	out.Ingress = r.applyIngress(ctx, proxy, desired.Ingress(proxy))
	neighbours, err := r.neighbours(ctx, proxy)
	if err != nil {
		return ctrl.Result{}, err
	}
	targets := map[string]bool{}
	for _, target := range proxy.Spec.Targets {
		targets[target.Name] = true
		if out.TrustedProxies != nil {
			// Pods must never roll onto a reference to a list that is not
			// published yet.
			out.Targets = append(out.Targets, heldBack(target.Name, out.TrustedProxies))
			continue
		}
		result, risks := r.patchTarget(ctx, proxy, neighbours, target, list)
		out.Targets = append(out.Targets, result)
		out.ProbeRisks = append(out.ProbeRisks, risks...)
	}
	if err := r.releaseAll(ctx, proxy, neighbours, targets); err != nil {
		return ctrl.Result{}, err
	}

	if err := r.report(ctx, proxy, out); err != nil {
		return ctrl.Result{}, err
	}
	// A failed call is retried with the controller's backoff; a problem that
	// needs a person waits for a watch event instead, except a name taken by
	// someone else's object, which the cache cannot see go away.
	if err := out.Err(); err != nil {
		return ctrl.Result{}, err
	}
	if out.NameTaken() {
		return ctrl.Result{RequeueAfter: nameTakenRecheck}, nil
	}
	return ctrl.Result{}, nil
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
	neighbours, err := r.neighbours(ctx, proxy)
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

// heldBack is the outcome of a target that waits for its ConfigMap.
func heldBack(name string, cause error) desired.TargetOutcome {
	msg := "Deployment " + name + " is not patched until the trusted proxy ConfigMap is applied"
	if p, ok := cause.(*desired.Problem); ok {
		return desired.TargetOutcome{Name: name, Problem: &desired.Problem{Reason: p.Reason, Message: msg}}
	}
	return desired.TargetOutcome{Name: name, Err: errors.New(msg)}
}

func (r *PostHogProxyReconciler) applyConfigMap(ctx context.Context, proxy *proxyv1.PostHogProxy, want *corev1ac.ConfigMapApplyConfiguration) error {
	live := &corev1.ConfigMap{}
	return r.applyChild(ctx, proxy, "ConfigMap", desired.ConfigMapName(proxy), live, want, func() runtime.ApplyConfiguration {
		owned, err := corev1ac.ExtractConfigMap(live, desired.FieldManager)
		return extracted(ctx, owned, err)
	})
}

func (r *PostHogProxyReconciler) applyIngress(ctx context.Context, proxy *proxyv1.PostHogProxy, want *networkingv1ac.IngressApplyConfiguration) error {
	live := &networkingv1.Ingress{}
	return r.applyChild(ctx, proxy, "Ingress", desired.IngressName(proxy), live, want, func() runtime.ApplyConfiguration {
		owned, err := networkingv1ac.ExtractIngress(live, desired.FieldManager)
		return extracted(ctx, owned, err)
	})
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

// patchTarget applies the environment patch to one target Deployment, and
// returns its outcome and the risky probes of the patched containers.
func (r *PostHogProxyReconciler) patchTarget(ctx context.Context, proxy *proxyv1.PostHogProxy, neighbours []proxyv1.PostHogProxy, target proxyv1.TargetDeployment, list trust.List) (desired.TargetOutcome, []string) {
	result := desired.TargetOutcome{Name: target.Name}
	deployment := &appsv1.Deployment{}
	seen := desired.Observed{}
	switch err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: proxy.Namespace, Name: target.Name}, deployment); {
	case apierrors.IsNotFound(err):
	case err != nil:
		result.Err = err
		return result, nil
	default:
		seen.Deployment = deployment
		seen.ClaimedBy = desired.PatchOwner(deployment, neighbours)
	}

	containers, problem := desired.ResolveContainers(proxy, target, seen)
	if problem != nil {
		result.Problem = problem
		return result, nil
	}
	owned, err := appsv1ac.ExtractDeployment(deployment, desired.FieldManager)
	current := extracted(ctx, owned, err)
	want := desired.DeploymentPatch(proxy, target.Name, containers, list)
	err = rejected("Deployment", target.Name, applyIfChanged(ctx, r.Client, want, current))
	if problem := conflictProblem(deployment, err); problem != nil {
		result.Problem = problem
		return result, nil
	}
	if problem, ok := err.(*desired.Problem); ok {
		result.Problem = problem
		return result, nil
	}
	result.Containers, result.Err = containers, err
	if err == nil {
		result.Problem = desired.TrustAllSetElsewhere(proxy, deployment, containers, owned)
	}

	var risks []string
	if proxy.Spec.AllowedHosts != proxyv1.AllowedHostsUnmanaged {
		for _, risk := range desired.ProbesWithoutHost(deployment, containers) {
			risks = append(risks, target.Name+"/"+risk)
		}
	}
	return result, risks
}

// neighbours are the PostHogProxies of the namespace, this one included:
// together they decide which of them patches a Deployment.
func (r *PostHogProxyReconciler) neighbours(ctx context.Context, proxy *proxyv1.PostHogProxy) ([]proxyv1.PostHogProxy, error) {
	list := &proxyv1.PostHogProxyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(proxy.Namespace)); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// releaseAll takes back the patch from every Deployment in the namespace
// that this PostHogProxy patched and that is not in keep.
func (r *PostHogProxyReconciler) releaseAll(ctx context.Context, proxy *proxyv1.PostHogProxy, neighbours []proxyv1.PostHogProxy, keep map[string]bool) error {
	deployments := &metav1.PartialObjectMetadataList{}
	deployments.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DeploymentList"))
	if err := r.Client.List(ctx, deployments, client.InNamespace(proxy.Namespace)); err != nil {
		return err
	}
	var errs []error
	for _, d := range deployments.Items {
		if keep[d.Name] || !desired.PatchedBy(proxy, &d, neighbours) {
			continue
		}
		err := r.Client.Apply(ctx, desired.ReleasePatch(d.Namespace, d.Name), client.FieldOwner(desired.FieldManager))
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("taking back the patch on Deployment %s: %w", d.Name, err))
		}
	}
	return errors.Join(errs...)
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

func addressStrings(proxy *proxyv1.PostHogProxy) []string {
	out := make([]string, len(proxy.Spec.TrustedProxies.Addresses))
	for i, a := range proxy.Spec.TrustedProxies.Addresses {
		out[i] = string(a)
	}
	return out
}
