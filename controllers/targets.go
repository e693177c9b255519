package controllers

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// heldBack is the outcome of a target that waits for its ConfigMap.
func heldBack(name string, cause error) desired.TargetOutcome {
	msg := "Deployment " + name + " is not patched until the trusted proxy ConfigMap is applied"
	if p, ok := cause.(*desired.Problem); ok {
		return desired.TargetOutcome{Name: name, Problem: &desired.Problem{Reason: p.Reason, Message: msg}}
	}
	return desired.TargetOutcome{Name: name, Err: errors.New(msg)}
}

// patchTarget applies the environment patch to one target Deployment, and
// returns its outcome and the risky probes of the patched containers.
func (r *PostHogProxyReconciler) patchTarget(ctx context.Context, proxy *proxyv1.PostHogProxy, neighbours []proxyv1.PostHogProxy, target proxyv1.TargetDeployment, listHash string) (desired.TargetOutcome, []string) {
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
	want := desired.DeploymentPatch(proxy, target.Name, containers, listHash, desired.SharedEnv(proxy, deployment, containers, owned))
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
	result.Rolled = err == nil && deployment.Spec.Template.Annotations[desired.ConfigHashAnnotation] != want.Spec.Template.Annotations[desired.ConfigHashAnnotation]
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

// proxies are the PostHogProxies of every namespace, which decide who
// serves a host, and those of this one's namespace, this one included,
// which decide who patches a Deployment: one list from the cache.
func (r *PostHogProxyReconciler) proxies(ctx context.Context, proxy *proxyv1.PostHogProxy) (all, neighbours []proxyv1.PostHogProxy, err error) {
	list := &proxyv1.PostHogProxyList{}
	if err := r.Client.List(ctx, list); err != nil {
		return nil, nil, err
	}
	for _, p := range list.Items {
		if p.Namespace == proxy.Namespace {
			neighbours = append(neighbours, p)
		}
	}
	return list.Items, neighbours, nil
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
