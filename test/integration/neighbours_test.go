package integration

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// Removing the patched-by annotation by hand does not hand the Deployment
// to a younger PostHogProxy, and deleting that one takes nothing from the
// owner's patch.
func TestStrippedAnnotationDoesNotHandOverTheDeployment(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	owner := sampleProxy(ns, "owner")
	Expect(k8sClient.Create(ctx, owner)).To(Succeed())
	waitForCondition(t, client.ObjectKeyFromObject(owner), proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution
	waiter := sampleProxy(ns, "waiter")
	waiter.Spec.Hosts = []proxyv1.Hostname{"attacker.example.com"}
	waiter.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}
	Expect(k8sClient.Create(ctx, waiter)).To(Succeed())
	waitForCondition(t, client.ObjectKeyFromObject(waiter), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTargetClaimed)

	strip := client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/annotations/proxy.posthog-operator.io~1patched-by"}]`))
	Expect(k8sClient.Patch(ctx, getDeployment(Default, ns, "posthog-web"), strip, client.FieldOwner("someone"))).To(Succeed())
	Eventually(func(g Gomega) {
		d := getDeployment(g, ns, "posthog-web")
		g.Expect(d.Annotations).To(HaveKeyWithValue(desired.PatchedByAnnotation, "owner"))
	}).Should(Succeed())
	Consistently(func(g Gomega) {
		env := envOf(getDeployment(g, ns, "posthog-web"), webContainer)
		g.Expect(env[desired.EnvAllowedHosts].Value).To(Equal(hostFor(ns)))
		g.Expect(env).NotTo(HaveKey(desired.EnvTrustAllProxies))
	}).WithTimeout(2 * time.Second).Should(Succeed())

	Expect(k8sClient.Patch(ctx, getDeployment(Default, ns, "posthog-web"), strip, client.FieldOwner("someone"))).To(Succeed())
	deleteAndWaitGone(t, waiter)
	Consistently(func(g Gomega) {
		env := envOf(getDeployment(g, ns, "posthog-web"), webContainer)
		g.Expect(env[desired.EnvAllowedHosts].Value).To(Equal(hostFor(ns)))
		g.Expect(env).To(HaveKey(desired.EnvTrustedProxies))
	}).WithTimeout(2 * time.Second).Should(Succeed())
}

// A PostHogProxy deleted and created again before the garbage collector
// removed its children takes them back, with one owner reference.
func TestRecreatedProxyAdoptsItsOwnLeftovers(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	first := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, first)).To(Succeed())
	key := client.ObjectKeyFromObject(first)
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(k8sClient.Delete(ctx, first)).To(Succeed())
	Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, key, &proxyv1.PostHogProxy{})) }).
		WithTimeout(20 * time.Second).Should(BeTrue())

	// envtest runs no garbage collector: the children are still there.
	second := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, second)).To(Succeed())
	got := waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(got.UID).NotTo(Equal(first.UID))
	cm := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog-trusted-proxies"}, cm)).To(Succeed())
	expectControlledBy(cm.OwnerReferences, got)
	ing := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, key, ing)).To(Succeed())
	expectControlledBy(ing.OwnerReferences, got)
}

// A TRUST_ALL_PROXIES that someone else sets — even to "False" — defeats the
// list, so the resource is not Ready and says why.
func TestTrustAllFromAnotherWriterIsReported(t *testing.T) {
	ctx, ns := startWithPostHog(t, corev1.EnvVar{Name: "TRUST_ALL_PROXIES", Value: "False"})
	proxy := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTrustAllSetElsewhere)
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring(`container posthog-web sets it to "False"`))
	env := envOf(getDeployment(Default, ns, "posthog-web"), webContainer)
	Expect(env["TRUST_ALL_PROXIES"].Value).To(Equal("False"), "the other writer's value is reported, not removed")
	Expect(env).To(HaveKey(desired.EnvTrustedProxies))
}

// A Deployment the API server stores with a duplicate env name (its own
// validation lets that through) still gets the patch.
func TestDuplicateEnvNamesOfAnotherWriterDoNotBlock(t *testing.T) {
	_, ns := startWithPostHog(t, corev1.EnvVar{Name: "DEPLOYMENT", Value: "again"})
	createReady(t, sampleProxy(ns, "posthog"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).To(HaveKey(desired.EnvIsBehindProxy))
}
