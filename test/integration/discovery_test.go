package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/test/harness"
	"github.com/posthog-operator/posthog-proxy-operator/test/oracle"
)

const controllerService = "ingress-nginx-controller"

// ingressController creates, in a namespace of its own, the Service of an
// ingress controller and an EndpointSlice for it with the given ready
// addresses, and returns the namespace.
func ingressController(t *testing.T, addresses ...string) string {
	t.Helper()
	ctx := context.Background()
	ns := newNamespace(t)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: controllerService, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	Expect(k8sClient.Create(ctx, svc)).To(Succeed())
	setEndpoints(t, ns, "slice-a", discoveryv1.AddressTypeIPv4, addresses...)
	return ns
}

// setEndpoints creates or replaces one EndpointSlice of the controller
// Service with ready endpoints at the given addresses.
func setEndpoints(t *testing.T, ns, name string, family discoveryv1.AddressType, addresses ...string) {
	t.Helper()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: controllerService}},
		AddressType: family,
	}
	for _, a := range addresses {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	ctx := context.Background()
	existing := &discoveryv1.EndpointSlice{}
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(slice), existing); err == nil {
		existing.Endpoints = slice.Endpoints
		Expect(k8sClient.Update(ctx, existing)).To(Succeed())
		return
	}
	Expect(k8sClient.Create(ctx, slice)).To(Succeed())
}

func discoveringProxy(ns, controllerNS string) *proxyv1.PostHogProxy {
	p := sampleProxy(ns, "posthog")
	p.Spec.TrustedProxies = proxyv1.TrustedProxies{
		Addresses: []proxyv1.AddressOrRange{"192.0.2.10"},
		Services:  []proxyv1.ServiceReference{{Namespace: controllerNS, Name: controllerService}},
	}
	return p
}

func publishedList(g Gomega, ns string) string {
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "posthog-trusted-proxies"}, cm)).To(Succeed())
	return cm.Data[desired.TrustedProxiesKey]
}

// The running operator follows the controller's endpoints as they are
// created, scaled and replaced, across namespaces and address families.
func TestDiscoveredEndpointsFollowTheController(t *testing.T) {
	_, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	_, key := createReady(t, discoveringProxy(ns, controllerNS))
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.1,192.0.2.10"))

	// Scaled up, and an IPv6 slice appears.
	setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.0.1", "10.42.0.2")
	setEndpoints(t, controllerNS, "slice-b", discoveryv1.AddressTypeIPv6, "fd00:42::2")
	Eventually(func(g Gomega) {
		g.Expect(publishedList(g, ns)).To(Equal("10.42.0.1,10.42.0.2,192.0.2.10,fd00:42::2"))
	}).Should(Succeed())

	// Replaced: the old address stays trusted while it drains.
	setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.0.2", "10.42.0.3")
	Eventually(func(g Gomega) {
		g.Expect(publishedList(g, ns)).To(Equal("10.42.0.1,10.42.0.2,10.42.0.3,192.0.2.10,fd00:42::2"))
		st := getProxy(g, key).Status.TrustedProxies
		g.Expect(st.Leaving).To(HaveLen(1))
		g.Expect(st.Leaving[0].Address).To(Equal("10.42.0.1"))
		g.Expect(st.Leaving[0].Until.Time).To(BeTemporally("~", time.Now().Add(5*time.Minute), 30*time.Second))
		g.Expect(st.Sources).To(ConsistOf(
			proxyv1.SourceStatus{Name: "static", Count: 1},
			proxyv1.SourceStatus{Name: "service/" + controllerNS + "/" + controllerService, Count: 3},
			proxyv1.SourceStatus{Name: "leaving", Count: 1},
		))
		g.Expect(st.Count).To(BeEquivalentTo(5))
	}).Should(Succeed())
}

// A Service that does not exist keeps the last published list and says so;
// once it exists, the list follows it.
func TestMissingServiceThenCreated(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	controllerNS := newNamespace(t)
	proxy := discoveringProxy(ns, controllerNS)
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonServiceNotFound)
	Expect(condition(got, proxyv1.ConditionTrustedProxiesReady).Message).To(ContainSubstring(
		"Service " + controllerNS + "/ingress-nginx-controller in spec.trustedProxies.services does not exist"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).NotTo(HaveKey(desired.EnvTrustedProxies), "nothing published, nothing patched")

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: controllerService, Namespace: controllerNS},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	Expect(k8sClient.Create(ctx, svc)).To(Succeed())
	setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.0.9")
	waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.9,192.0.2.10"))
}

// rolloutClock drives a reconciler of the test's own on a clock of the
// test's own, so the rollout window and grace period are exact.
type rolloutClock struct {
	t   *testing.T
	now time.Time
	req ctrl.Request
	ns  string
}

func (c *rolloutClock) reconcile(after time.Duration) ctrl.Result {
	c.t.Helper()
	c.now = c.now.Add(after)
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	// A new reconciler each time: nothing may live in its memory, as after
	// an operator restart.
	r := &controllers.PostHogProxyReconciler{Client: direct, APIReader: direct, Presets: presets, Now: func() time.Time { return c.now }}
	res, err := r.Reconcile(context.Background(), c.req)
	Expect(err).NotTo(HaveOccurred())
	return res
}

func (c *rolloutClock) podTemplate() (generation int64, hash string) {
	d := getDeployment(Default, c.ns, "posthog-web")
	return d.Generation, d.Spec.Template.Annotations[desired.ConfigHashAnnotation]
}

// A rolling restart of the ingress controller, which replaces its endpoints
// one by one, rolls PostHog exactly once with the default window; reordered
// and duplicated endpoints and operator restarts roll it never. Rollouts are
// counted as changes of the Deployment's pod template (its generation).
func TestControllerRolloutRollsPostHogOnce(t *testing.T) {
	_, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1", "10.42.0.2", "10.42.0.3")
	proxy := discoveringProxy(ns, controllerNS)
	proxy.Labels = map[string]string{unmanagedLabel: "true"}
	Expect(k8sClient.Create(context.Background(), proxy)).To(Succeed())
	clock := &rolloutClock{t: t, now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), req: ctrl.Request{NamespacedName: client.ObjectKeyFromObject(proxy)}, ns: ns}

	clock.reconcile(0)
	startGeneration, startHash := clock.podTemplate()
	Expect(startHash).NotTo(BeEmpty())

	// The controller's rolling restart: each old pod replaced by a new one,
	// ten seconds apart, each step seen by the operator.
	current := []string{"10.42.0.1", "10.42.0.2", "10.42.0.3"}
	for i := range 3 {
		current[i] = fmt.Sprintf("10.42.1.%d", i+1)
		setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, current...)
		res := clock.reconcile(10 * time.Second)
		Expect(res.RequeueAfter).To(Equal(30*time.Second), "the operator comes back when the window ends")
		generation, _ := clock.podTemplate()
		Expect(generation).To(Equal(startGeneration), "no rollout inside the window (step %d)", i+1)
	}
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.1,10.42.0.2,10.42.0.3,10.42.1.1,10.42.1.2,10.42.1.3,192.0.2.10"),
		"the ConfigMap follows at once; old addresses stay in their grace period")
	st := getProxy(Default, clock.req.NamespacedName)
	Expect(condition(st, proxyv1.ConditionReconciling).Reason).To(Equal(proxyv1.ReasonRolloutPending))

	// The window passes with no further change: one rollout.
	clock.reconcile(30 * time.Second)
	generation, hash := clock.podTemplate()
	Expect(generation).To(Equal(startGeneration+1), "exactly one rollout for the whole controller rollout")
	Expect(hash).NotTo(Equal(startHash))
	st = getProxy(Default, clock.req.NamespacedName)
	Expect(st.Status.TrustedProxies.LastRollout).NotTo(BeNil())
	Expect(st.Status.TrustedProxies.LastRollout.Reason).To(Equal("the trusted proxy list changed (now 7 entries)"))
	Expect(st.Status.TrustedProxies.LastRollout.Time.Time).To(BeTemporally("==", clock.now))
	Expect(condition(st, proxyv1.ConditionReconciling)).To(BeNil())

	// Reordered endpoints, a duplicate in a second slice, and restarts.
	setEndpoints(t, controllerNS, "slice-a", discoveryv1.AddressTypeIPv4, "10.42.1.3", "10.42.1.1", "10.42.1.2")
	setEndpoints(t, controllerNS, "slice-c", discoveryv1.AddressTypeIPv4, "10.42.1.2")
	for range 3 {
		clock.reconcile(5 * time.Second)
	}
	generation, _ = clock.podTemplate()
	Expect(generation).To(Equal(startGeneration+1), "reorder, duplicates and restarts roll nothing")

	// The grace period ends: the old addresses go, and after the window
	// that is one more rollout.
	clock.reconcile(5 * time.Minute)
	Expect(publishedList(Default, ns)).To(Equal("10.42.1.1,10.42.1.2,10.42.1.3,192.0.2.10"))
	Expect(getProxy(Default, clock.req.NamespacedName).Status.TrustedProxies.Leaving).To(BeEmpty())
	clock.reconcile(31 * time.Second)
	generation, _ = clock.podTemplate()
	Expect(generation).To(Equal(startGeneration + 2))
}

// The variables on the real Deployment, with TRUSTED_PROXIES resolved from
// the real ConfigMap, make PostHog find the client behind each discovered
// controller pod, and believe no header it should not.
func TestGeneratedEnvFindsTheClientBehindTheController(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1", "10.42.0.2")
	createReady(t, discoveringProxy(ns, controllerNS))

	d := getDeployment(Default, ns, "posthog-web")
	for _, v := range envOf(d, webContainer) {
		if ref := v.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil {
			Expect(ref.ConfigMapKeyRef.Name).To(Equal("posthog-trusted-proxies"))
		}
	}
	env, err := harness.PodEnv(ctx, k8sClient, d, webContainer)
	Expect(err).NotTo(HaveOccurred())
	settings := oracle.FromEnv(env, oracle.Exact)
	for _, pod := range []string{"10.42.0.1", "10.42.0.2"} {
		got, ok := oracle.ClientIP(settings, pod, "203.0.113.5")
		Expect(ok).To(BeTrue(), "through %s", pod)
		Expect(got).To(Equal("203.0.113.5"))
	}
	_, ok := oracle.ClientIP(settings, "10.42.0.1", "6.6.6.6, 203.0.113.5")
	Expect(ok).To(BeFalse(), "a client-chosen X-Forwarded-For entry is not believed")
	_, ok = oracle.ClientIP(settings, "198.51.100.9", "6.6.6.6")
	Expect(ok).To(BeFalse(), "a header from an untrusted peer is not believed")
}

// Networks under exact matching are published but never claimed Ready, and
// the condition names them.
func TestNetworksUnderExactMatchingAreNotReady(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.TrustedProxies = proxyv1.TrustedProxies{
		Addresses: []proxyv1.AddressOrRange{"10.0.0.0/16", "10.0.9.9/32"},
		Presets:   []proxyv1.PresetName{"cloudflare"},
	}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonUnmatchableEntries)
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	Expect(condition(got, proxyv1.ConditionTrustedProxiesReady).Message).To(ContainSubstring(
		"these networks match no peer: 10.0.0.0/16, 103.21.244.0/22"))
	Expect(publishedList(Default, ns)).To(HavePrefix("10.0.0.0/16,10.0.9.9,"), "published as asked; the /32 as a bare address")
	Expect(got.Status.TrustedProxies.Sources).To(ContainElement(proxyv1.SourceStatus{Name: "preset/cloudflare", Count: 22, Version: "2025-11"}))

	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	proxy.Spec.TrustedProxies.Matching = proxyv1.MatchNetwork
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	got = waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(condition(got, proxyv1.ConditionStalled)).To(BeNil())
}

// A list too large for one environment variable is never truncated: the
// last published list stays, and the condition says why.
func TestOverSizeListKeepsTheLastOne(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	controllerNS := ingressController(t, "10.42.0.1")
	_, key := createReady(t, discoveringProxy(ns, controllerNS))
	before := publishedList(Default, ns)

	// Another controller with 4000 ready endpoints, in four slices of the
	// 1000 an EndpointSlice holds; the spec switches to it in one step.
	bigNS := ingressController(t, "10.42.0.1")
	for s := range 4 {
		var addrs []string
		for i := range 1000 {
			addrs = append(addrs, fmt.Sprintf("10.%d.%d.%d", 100+s, i/250, i%250+1))
		}
		setEndpoints(t, bigNS, fmt.Sprintf("slice-big-%d", s), discoveryv1.AddressTypeIPv4, addrs...)
	}
	proxy := getProxy(Default, key)
	proxy.Spec.TrustedProxies.Services[0].Namespace = bigNS
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonListTooLarge)
	Expect(condition(got, proxyv1.ConditionTrustedProxiesReady).Message).To(ContainSubstring(
		"more than the 32768 bytes the operator puts in one environment variable; the last published list stays"))
	Expect(publishedList(Default, ns)).To(Equal(before))
}
