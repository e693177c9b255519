package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// unmanagedDiscovering creates a discovering PostHogProxy that only a
// rolloutClock reconciles, and reconciles it once.
func unmanagedDiscovering(t *testing.T, ns, controllerNS string, mutate func(*proxyv1.PostHogProxy)) *rolloutClock {
	t.Helper()
	proxy := discoveringProxy(ns, controllerNS)
	proxy.Labels = map[string]string{unmanagedLabel: "true"}
	if mutate != nil {
		mutate(proxy)
	}
	Expect(k8sClient.Create(context.Background(), proxy)).To(Succeed())
	clock := &rolloutClock{t: t, now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), req: ctrl.Request{NamespacedName: client.ObjectKeyFromObject(proxy)}, ns: ns}
	clock.reconcile(0)
	return clock
}

func (c *rolloutClock) update(mutate func(*proxyv1.PostHogProxy)) {
	c.t.Helper()
	p := getProxy(Default, c.req.NamespacedName)
	mutate(p)
	Expect(k8sClient.Update(context.Background(), p)).To(Succeed())
}

// A spec edit that changes both the settings and the list rolls the pods
// once, not once for each.
func TestSettingsAndListChangedTogetherRollOnce(t *testing.T) {
	_, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	clock := unmanagedDiscovering(t, ns, controllerNS, nil)
	start, _ := clock.podTemplate()

	clock.update(func(p *proxyv1.PostHogProxy) {
		p.Spec.Hosts = append(p.Spec.Hosts, "eu.posthog.example.com")
		p.Spec.TrustedProxies.Addresses = append(p.Spec.TrustedProxies.Addresses, "192.0.2.11")
	})
	res := clock.reconcile(time.Second)
	Expect(res.RequeueAfter).To(BeZero(), "nothing left waiting")
	generation, _ := clock.podTemplate()
	Expect(generation).To(Equal(start + 1))
	for range 3 {
		clock.reconcile(time.Minute)
	}
	generation, _ = clock.podTemplate()
	Expect(generation).To(Equal(start+1), "no second rollout for the list")
}

// While a new list cannot be published, the Deployment keeps the last one,
// but its other settings still follow the spec.
func TestBlockedListStillLetsSettingsThrough(t *testing.T) {
	_, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	clock := unmanagedDiscovering(t, ns, controllerNS, nil)
	list := publishedList(Default, ns)

	clock.update(func(p *proxyv1.PostHogProxy) {
		p.Spec.TrustedProxies.Services[0].Name = "ingress-nginx-controler" // a typo
		p.Spec.Hosts = []proxyv1.Hostname{"new.example.com"}
	})
	res := clock.reconcile(time.Second)
	Expect(res.RequeueAfter).To(Equal(time.Minute), "a missing Service is looked for again every minute")
	got := getProxy(Default, clock.req.NamespacedName)
	Expect(condition(got, proxyv1.ConditionStalled).Reason).To(Equal(proxyv1.ReasonServiceNotFound))
	Expect(publishedList(Default, ns)).To(Equal(list))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)[desired.EnvAllowedHosts].Value).To(Equal("new.example.com"))
	Expect(got.Status.Targets).To(HaveLen(1), "the Deployment carries the settings")
}

// A hand edit of sources.json never makes the operator trust anything.
func TestEditedSourcesNeverAddTrust(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	clock := unmanagedDiscovering(t, ns, controllerNS, nil)

	cm := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog-trusted-proxies"}, cm)).To(Succeed())
	cm.Data[desired.SourcesKey] = `[{"name": "service/` + controllerNS + `/` + controllerService + `", "entries": ["6.6.6.6"]}]`
	Expect(k8sClient.Update(ctx, cm, client.FieldOwner("kubectl-edit"))).To(Succeed())

	clock.reconcile(time.Second)
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.1,192.0.2.10"), "the edit is put back, and 6.6.6.6 is not trusted")
	Expect(getProxy(Default, clock.req.NamespacedName).Status.TrustedProxies.Leaving).To(BeEmpty())
}

// A Service taken out of the spec is distrusted at once: the grace period is
// for pods draining out of a Service still trusted, not for a decision.
func TestServiceRemovedFromSpecGetsNoGrace(t *testing.T) {
	_, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	clock := unmanagedDiscovering(t, ns, controllerNS, nil)
	setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.0.2")
	clock.reconcile(time.Second)
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.1,10.42.0.2,192.0.2.10"), "10.42.0.1 is in its grace period")

	clock.update(func(p *proxyv1.PostHogProxy) { p.Spec.TrustedProxies.Services = nil })
	clock.reconcile(time.Second)
	Expect(publishedList(Default, ns)).To(Equal("192.0.2.10"))
	Expect(getProxy(Default, clock.req.NamespacedName).Status.TrustedProxies.Leaving).To(BeEmpty())
}
