package integration

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// unmanagedProxy is a sample PostHogProxy that only the test's own
// reconciler sees.
func unmanagedProxy(t *testing.T, ns string) (*proxyv1.PostHogProxy, ctrl.Request) {
	t.Helper()
	proxy := sampleProxy(ns, "posthog")
	proxy.Labels = map[string]string{unmanagedLabel: "true"}
	if err := k8sClient.Create(context.Background(), proxy); err != nil {
		t.Fatal(err)
	}
	return proxy, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(proxy)}
}

// The first reconcile writes what is missing; every later one with nothing
// to change writes nothing, counted at the HTTP layer.
func TestOnlyTheFirstReconcileWrites(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	_, req := unmanagedProxy(t, ns)

	counter := &writeCounter{}
	c, err := client.New(counter.wrap(cfg), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.PostHogProxyReconciler{Client: c, APIReader: c}

	_, err = r.Reconcile(ctx, req)
	Expect(err).NotTo(HaveOccurred())
	// finalizer, ConfigMap, Ingress, Deployment, status
	Expect(counter.writes.Load()).To(BeEquivalentTo(5))
	Expect(condition(getProxy(Default, req.NamespacedName), proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))

	settled := versions(ctx, ns)
	for range 3 {
		_, err = r.Reconcile(ctx, req)
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(counter.writes.Load()).To(BeEquivalentTo(5), "reconciles with nothing to change wrote")
	Expect(versions(ctx, ns)).To(Equal(settled))
}

// When the trusted proxy ConfigMap cannot be written, the Deployment is not
// patched (its pods would roll onto a reference to a missing list), status
// says Reconciling rather than Stalled, and the next good reconcile recovers.
func TestConfigMapFailureHoldsBackTheDeploymentPatch(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	_, req := unmanagedProxy(t, ns)

	real, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	failing := interceptor.NewClient(real, interceptor.Funcs{
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			if _, ok := obj.(*corev1ac.ConfigMapApplyConfiguration); ok {
				return apierrors.NewInternalError(errInjected)
			}
			return c.Apply(ctx, obj, opts...)
		},
	})
	_, err = (&controllers.PostHogProxyReconciler{Client: failing, APIReader: real}).Reconcile(ctx, req)
	Expect(err).To(MatchError(ContainSubstring("injected")), "the failure is returned, so the controller retries with backoff")

	got := getProxy(Default, req.NamespacedName)
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	Expect(condition(got, proxyv1.ConditionReady).Reason).To(Equal(proxyv1.ReasonApplyFailed))
	Expect(condition(got, proxyv1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	Expect(condition(got, proxyv1.ConditionStalled)).To(BeNil())
	Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring("not patched until the trusted proxy ConfigMap is applied"))
	Expect(condition(got, proxyv1.ConditionIngressReady).Status).To(Equal(metav1.ConditionTrue), "the other parts still go ahead")
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).NotTo(HaveKey(desired.EnvIsBehindProxy))

	_, err = (&controllers.PostHogProxyReconciler{Client: real, APIReader: real}).Reconcile(ctx, req)
	Expect(err).NotTo(HaveOccurred())
	got = getProxy(Default, req.NamespacedName)
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	Expect(condition(got, proxyv1.ConditionReconciling)).To(BeNil())
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).To(HaveKey(desired.EnvIsBehindProxy))
}

var errInjected = errors.New("injected by the test")
