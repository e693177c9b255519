package integration

import (
	"context"
	"fmt"
	"strings"
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
	Expect(proxy.Status.Ingresses).To(Equal([]proxyv1.IngressStatus{{Name: "posthog", Role: "all", Hosts: []string{hostFor(ns)}, Paths: []string{"/"}}}))

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
	Expect(got.Status.Ingresses).To(Equal([]proxyv1.IngressStatus{{Name: "posthog", Role: "all", Hosts: []string{hostFor(ns)}, Paths: []string{"/"}}}))
}

// Two PostHogProxies that claim one host: the one that serves it keeps it,
// every time; the other serves its other hosts, says which one holds the
// shared one, and takes it over when it is free.
func TestHostConflictHasOneWinnerAndClears(t *testing.T) {
	ctx, nsA := startWithPostHog(t)
	_, nsB := startWithPostHog(t)
	shared := "shared-" + hostFor(nsA)
	own := "other-" + hostFor(nsB)
	first := sampleProxy(nsA, "first")
	first.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname(shared)}
	createReady(t, first)

	second := sampleProxy(nsB, "second")
	second.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname(own), proxyv1.Hostname(shared)}
	Expect(k8sClient.Create(ctx, second)).To(Succeed())
	secondKey := client.ObjectKeyFromObject(second)
	got := waitForCondition(t, secondKey, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonHostConflict)
	Expect(condition(got, proxyv1.ConditionIngressReady).Message).To(ContainSubstring(
		"host " + shared + " is already served by PostHogProxy " + nsA + "/first"))
	hostsOf := func(g Gomega, ns, name string) []string {
		ing := &networkingv1.Ingress{}
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ing)).To(Succeed())
		var hosts []string
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
		return hosts
	}
	Consistently(func(g Gomega) {
		g.Expect(hostsOf(g, nsA, "first")).To(ConsistOf(shared))
		g.Expect(hostsOf(g, nsB, "second")).To(ConsistOf(own), "the loser still serves its own host")
		g.Expect(condition(getProxy(g, secondKey), proxyv1.ConditionStalled).Reason).To(Equal(proxyv1.ReasonHostConflict))
	}).WithTimeout(2*time.Second).Should(Succeed(), "the same winner every time")

	// An edit of the older one's hosts takes nothing the other serves.
	_, nsC := startWithPostHog(t)
	third := sampleProxy(nsC, "third")
	third.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname(hostFor(nsC))}
	createReady(t, third)
	third = getProxy(Default, client.ObjectKeyFromObject(third))
	third.Spec.Hosts = append(third.Spec.Hosts, proxyv1.Hostname(own))
	Expect(k8sClient.Update(ctx, third)).To(Succeed())
	waitForCondition(t, client.ObjectKeyFromObject(third), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonHostConflict)
	Expect(hostsOf(Default, nsB, "second")).To(ContainElement(own))

	deleteAndWaitGone(t, first)
	waitForCondition(t, secondKey, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(hostsOf(Default, nsB, "second")).To(ConsistOf(own, shared))
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
		{"same value with a trailing slash", "https://%s/", proxyv1.ReasonReconciled},
		{"another value", "https://old.example.com", proxyv1.ReasonFieldConflict},
	} {
		ns := newNamespace(t)
		value := tt.chartValue
		if strings.Contains(value, "%s") {
			value = fmt.Sprintf(value, hostFor(ns))
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

// A switch to Split whose private Ingress cannot be created (the name is
// someone else's) leaves the public Ingress serving everything, as before.
func TestFailedSplitKeepsTheAppServed(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	_, key := createReady(t, sampleProxy(ns, "posthog"))
	theirs := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog-private", Namespace: ns},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "legacy", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	}
	createAs(t, theirs, "kubectl-create")

	p := getProxy(Default, key)
	p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
	p.Spec.Ingress.Private = &proxyv1.PrivateIngress{ClassName: "nginx-internal"}
	Expect(k8sClient.Update(ctx, p)).To(Succeed())
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonAlreadyExists)
	public := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog"}, public)).To(Succeed())
	Expect(public.Spec.Rules[0].HTTP.Paths).To(HaveLen(1))
	Expect(public.Spec.Rules[0].HTTP.Paths[0].Path).To(Equal("/"), "the app is still served")
	Expect(got.Status.Ingresses).To(HaveLen(1))
	Expect(got.Status.Ingresses[0].Role).To(Equal("all"), "status still says what serves")
}
