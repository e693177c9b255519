package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// kstatusOf is what sigs.k8s.io/cli-utils' kstatus — the library behind
// kubectl wait, Flux's health checks and Argo CD's generic health — makes
// of a PostHogProxy as the API server returns it.
func kstatusOf(g Gomega, key client.ObjectKey) status.Status {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(proxyv1.GroupVersion.WithKind("PostHogProxy"))
	g.Expect(k8sClient.Get(context.Background(), key, u)).To(Succeed())
	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// The status conventions read right: in progress until the current
// generation is reconciled or while a change waits, current when Ready,
// failed when Stalled.
func TestKstatusReadsTheStatus(t *testing.T) {
	ctx, ns := startWithPostHog(t)

	// Created, not yet reconciled: in progress. A reconciler of the test's
	// own drives it, so the moment before the first reconcile is seen.
	proxy := discoveringProxy(ns, ingressController(t, "10.42.0.1"))
	proxy.Labels = map[string]string{unmanagedLabel: "true"}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	Expect(kstatusOf(Default, key)).To(Equal(status.InProgressStatus))
	clock := &rolloutClock{t: t, now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), req: ctrl.Request{NamespacedName: key}, ns: ns}
	clock.reconcile(0)
	Expect(kstatusOf(Default, key)).To(Equal(status.CurrentStatus))

	// A spec change not yet reconciled: in progress again.
	clock.update(func(p *proxyv1.PostHogProxy) {
		p.Spec.Hosts = append(p.Spec.Hosts, "two-"+proxyv1.Hostname(hostFor(ns)))
	})
	Expect(kstatusOf(Default, key)).To(Equal(status.InProgressStatus))
	clock.reconcile(time.Second)
	Expect(kstatusOf(Default, key)).To(Equal(status.CurrentStatus))

	// A list change waiting for its rollout window: in progress.
	setEndpoints(t, proxy.Spec.TrustedProxies.Services[0].Namespace, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.0.2")
	clock.reconcile(time.Second)
	Expect(condition(getProxy(Default, key), proxyv1.ConditionReconciling).Reason).To(Equal(proxyv1.ReasonRolloutPending))
	Expect(kstatusOf(Default, key)).To(Equal(status.InProgressStatus))
	clock.reconcile(time.Minute)
	Expect(kstatusOf(Default, key)).To(Equal(status.CurrentStatus))

	// Needs a person: failed.
	clock.update(func(p *proxyv1.PostHogProxy) { p.Spec.Targets = []proxyv1.TargetDeployment{{Name: "missing"}} })
	clock.reconcile(time.Second)
	Expect(condition(getProxy(Default, key), proxyv1.ConditionStalled).Reason).To(Equal(proxyv1.ReasonTargetNotFound))
	Expect(kstatusOf(Default, key)).To(Equal(status.FailedStatus))
}
