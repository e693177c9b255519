package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// ingressNames are the names of the Ingresses in a namespace.
func ingressNames(g Gomega, ns string) []string {
	list := &networkingv1.IngressList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, i := range list.Items {
		names = append(names, i.Name)
	}
	return names
}

// Switching the exposure adds and removes Ingresses, and leaves nothing
// behind; status lists each Ingress with its paths.
func TestExposureModesAddAndRemoveIngresses(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))
	Expect(ingressNames(Default, ns)).To(ConsistOf("posthog"))
	Expect(proxy.Status.Ingresses).To(Equal([]proxyv1.IngressStatus{{Name: "posthog", Role: "all", Paths: []string{"/"}}}))

	setExposure := func(e proxyv1.Exposure, private *proxyv1.PrivateIngress) *proxyv1.PostHogProxy {
		p := getProxy(Default, key)
		p.Spec.Ingress.Exposure, p.Spec.Ingress.Private = e, private
		Expect(k8sClient.Update(ctx, p)).To(Succeed())
		return waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	}

	got := setExposure(proxyv1.ExposeSplit, &proxyv1.PrivateIngress{ClassName: "nginx-internal"})
	Eventually(func(g Gomega) { g.Expect(ingressNames(g, ns)).To(ConsistOf("posthog", "posthog-private")) }).Should(Succeed())
	Expect(got.Status.Ingresses).To(HaveLen(2))
	Expect(got.Status.Ingresses[1].Role).To(Equal("public"))
	Expect(got.Status.Ingresses[1].Paths).To(ContainElements("/s", "/flags", "/i", "/static/array.js"))
	Expect(got.Status.Ingresses[1].PathsVersion).To(Equal(desired.PublicPathsVersion))
	private := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog-private"}, private)).To(Succeed())
	Expect(*private.Spec.IngressClassName).To(Equal("nginx-internal"))
	Expect(private.Spec.Rules[0].HTTP.Paths[0].Path).To(Equal("/"))

	setExposure(proxyv1.ExposePublicOnly, nil)
	Eventually(func(g Gomega) { g.Expect(ingressNames(g, ns)).To(ConsistOf("posthog")) }).Should(Succeed(),
		"the private Ingress is deleted")

	got = setExposure(proxyv1.ExposeAll, nil)
	Expect(ingressNames(Default, ns)).To(ConsistOf("posthog"))
	public := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog"}, public)).To(Succeed())
	Expect(public.Spec.Rules[0].HTTP.Paths).To(HaveLen(1), "back to one rule for everything")
	Expect(got.Status.Ingresses).To(Equal([]proxyv1.IngressStatus{{Name: "posthog", Role: "all", Paths: []string{"/"}}}))
}

// Two PostHogProxies that claim one host: the older one serves it, every
// time; the other says which one holds it, and takes over when it goes.
func TestHostConflictHasOneWinnerAndClears(t *testing.T) {
	ctx, nsA := startWithPostHog(t)
	_, nsB := startWithPostHog(t)
	shared := proxyv1.Hostname("shared-" + hostFor(nsA))
	first := sampleProxy(nsA, "first")
	first.Spec.Hosts = []proxyv1.Hostname{shared}
	createReady(t, first)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution

	second := sampleProxy(nsB, "second")
	second.Spec.Hosts = []proxyv1.Hostname{"other-" + proxyv1.Hostname(hostFor(nsB)), shared}
	Expect(k8sClient.Create(ctx, second)).To(Succeed())
	secondKey := client.ObjectKeyFromObject(second)
	got := waitForCondition(t, secondKey, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonHostConflict)
	Expect(condition(got, proxyv1.ConditionIngressReady).Message).To(ContainSubstring(
		"host " + string(shared) + " is already served by PostHogProxy " + nsA + "/first"))
	Expect(ingressNames(Default, nsB)).To(BeEmpty())
	Consistently(func(g Gomega) {
		g.Expect(ingressNames(g, nsA)).To(ConsistOf("first"))
		g.Expect(ingressNames(g, nsB)).To(BeEmpty())
		g.Expect(condition(getProxy(g, secondKey), proxyv1.ConditionStalled).Reason).To(Equal(proxyv1.ReasonHostConflict))
	}).WithTimeout(2*time.Second).Should(Succeed(), "the same winner every time")

	deleteAndWaitGone(t, first)
	waitForCondition(t, secondKey, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(ingressNames(Default, nsB)).To(ConsistOf("second"))
}

// SITE_URL: a chart that sets the same value shares it, and keeps it when
// the PostHogProxy goes; one that sets another is reported, not overwritten.
func TestSiteURLSharedOrReported(t *testing.T) {
	ctx := context.Background()
	RegisterTestingT(t)
	for _, tt := range []struct {
		name, chartValue string
		wantReason       string
	}{
		{"same value", "https://%s", proxyv1.ReasonReconciled},
		{"another value", "https://old.example.com", proxyv1.ReasonFieldConflict},
	} {
		ns := newNamespace(t)
		value := tt.chartValue
		if value == "https://%s" {
			value = "https://" + hostFor(ns)
		}
		d := postHogWeb(ns, "posthog-web")
		d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "SITE_URL", Value: value})
		createAs(t, d, chartManager)
		proxy := sampleProxy(ns, "posthog")
		Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
		if tt.wantReason == proxyv1.ReasonReconciled {
			waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionReady, metav1.ConditionTrue, tt.wantReason)
			deleteAndWaitGone(t, proxy)
		} else {
			got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, tt.wantReason)
			Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring(`env[name="SITE_URL"].value`))
		}
		Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)["SITE_URL"].Value).To(Equal(value), tt.name)
	}
}
