package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// Objects changing under the operator: it reports what it cannot do, loses
// nothing, and recovers by itself when the cluster allows.

// A target Deployment deleted and created again gets the patch back.
func TestDeletedTargetGetsThePatchBackWhenRecreated(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))

	Expect(k8sClient.Delete(ctx, getDeployment(Default, ns, "posthog-web"))).To(Succeed())
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTargetNotFound)
	Expect(condition(got, proxyv1.ConditionIngressReady).Status).To(Equal(metav1.ConditionTrue), "the Ingress stays")

	createAs(t, postHogWeb(ns, "posthog-web"), chartManager)
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Eventually(func(g Gomega) { expectConverged(g, proxy, "10.0.0.7,10.0.0.12,2001:db8::1") }).Should(Succeed())
}

// A container renamed by a read-modify-write edit is a condition naming the
// containers there are; renamed back, the patch is whole again and nothing
// is doubled.
func TestRenamedContainerIsReportedThenRecovers(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.Targets[0].Containers = []proxyv1.ContainerName{webContainer}
	_, key := createReady(t, proxy)

	rename := func(from, to string) {
		Eventually(func(g Gomega) {
			d := getDeployment(g, ns, "posthog-web")
			g.Expect(d.Spec.Template.Spec.Containers[0].Name).To(Equal(from))
			d.Spec.Template.Spec.Containers[0].Name = to
			g.Expect(k8sClient.Update(ctx, d, client.FieldOwner("kubectl-edit"))).To(Succeed())
		}).Should(Succeed())
	}
	rename(webContainer, "web")
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonContainerNotFound)
	Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring("has no container posthog-web (it has web)"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), "web")).To(HaveKey("SECRET_KEY"), "the renamed container keeps its env")

	rename("web", webContainer)
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	d := getDeployment(Default, ns, "posthog-web")
	Expect(d.Spec.Template.Spec.Containers).To(HaveLen(1))
	names := map[string]int{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		names[e.Name]++
	}
	for name, n := range names {
		Expect(n).To(Equal(1), "%s appears %d times", name, n)
	}
	Eventually(func(g Gomega) { expectConverged(g, proxy, "10.0.0.7,10.0.0.12,2001:db8::1") }).Should(Succeed())
}

// Deleting a PostHogProxy whose Deployment is already gone does not stick
// on the finalizer.
func TestDeletionWhileTheTargetIsGoneDoesNotStick(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))
	Expect(k8sClient.Delete(ctx, getDeployment(Default, ns, "posthog-web"))).To(Succeed())
	waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTargetNotFound)
	deleteAndWaitGone(t, proxy)
}

// A namespace deleted with everything in it goes away: the namespace
// controller (which envtest does not run, so the test does its work)
// deletes the Deployment before the PostHogProxy, in a namespace where
// nothing can be created any more.
func TestNamespaceDeletedWithEverythingInIt(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, _ := createReady(t, sampleProxy(ns, "posthog"))
	namespace := &corev1.Namespace{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, namespace)).To(Succeed())
	Expect(k8sClient.Delete(ctx, namespace)).To(Succeed())

	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.ConfigMap{}, &networkingv1.Ingress{}, &proxyv1.PostHogProxy{}} {
		Expect(k8sClient.DeleteAllOf(ctx, obj, client.InNamespace(ns))).To(Succeed())
	}
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(proxy), &proxyv1.PostHogProxy{}))
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the finalizer stuck in a terminating namespace")
	for _, list := range []client.ObjectList{&corev1.ConfigMapList{}, &networkingv1.IngressList{}} {
		Consistently(func() int { return itemCount(ctx, list, ns) }).WithTimeout(2*time.Second).
			Should(BeZero(), "%T was created again in a terminating namespace", list)
	}

	clientset, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, namespace)).To(Succeed())
	namespace.Spec.Finalizers = nil
	_, err = clientset.CoreV1().Namespaces().Finalize(ctx, namespace, metav1.UpdateOptions{})
	Expect(err).NotTo(HaveOccurred())
	Eventually(func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, namespace)) }).Should(BeTrue())
}

func itemCount(ctx context.Context, list client.ObjectList, ns string) int {
	Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	switch l := list.(type) {
	case *corev1.ConfigMapList:
		return len(l.Items)
	case *networkingv1.IngressList:
		return len(l.Items)
	}
	panic("unexpected list")
}

// The ConfigMap and Ingress edited or deleted by hand are put back as they
// were.
func TestChildrenEditedOrDeletedByHandAreRestored(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, _ := createReady(t, sampleProxy(ns, "posthog"))
	cmKey := client.ObjectKey{Namespace: ns, Name: desired.ConfigMapName(proxy)}
	original := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, cmKey, original)).To(Succeed())
	ingresses := &networkingv1.IngressList{}
	Expect(k8sClient.List(ctx, ingresses, client.InNamespace(ns))).To(Succeed())
	Expect(ingresses.Items).To(HaveLen(1))
	originalIngress := ingresses.Items[0]
	ingKey := client.ObjectKeyFromObject(&originalIngress)

	edited := original.DeepCopy()
	edited.Data[desired.TrustedProxiesKey] = "0.0.0.0/0"
	Expect(k8sClient.Update(ctx, edited, client.FieldOwner("kubectl-edit"))).To(Succeed())
	Eventually(func(g Gomega) map[string]string {
		live := &corev1.ConfigMap{}
		g.Expect(k8sClient.Get(ctx, cmKey, live)).To(Succeed())
		return live.Data
	}).Should(Equal(original.Data), "the hand-edited list was not put back")

	ing := originalIngress.DeepCopy()
	ing.Spec.Rules[0].Host = "evil.example"
	ing.Spec.IngressClassName = nil
	Expect(k8sClient.Update(ctx, ing, client.FieldOwner("kubectl-edit"))).To(Succeed())
	Eventually(func(g Gomega) networkingv1.IngressSpec {
		live := &networkingv1.Ingress{}
		g.Expect(k8sClient.Get(ctx, ingKey, live)).To(Succeed())
		return live.Spec
	}).Should(Equal(originalIngress.Spec), "the hand-edited Ingress was not put back")

	Expect(k8sClient.Delete(ctx, &originalIngress)).To(Succeed())
	Expect(k8sClient.Delete(ctx, original)).To(Succeed())
	Eventually(func(g Gomega) {
		live := &networkingv1.Ingress{}
		g.Expect(k8sClient.Get(ctx, ingKey, live)).To(Succeed())
		g.Expect(live.UID).NotTo(Equal(originalIngress.UID))
		g.Expect(live.Spec).To(Equal(originalIngress.Spec))
		cm := &corev1.ConfigMap{}
		g.Expect(k8sClient.Get(ctx, cmKey, cm)).To(Succeed())
		g.Expect(cm.Data).To(Equal(original.Data))
	}).Should(Succeed(), "deleted children were not made again")
	Eventually(func(g Gomega) { expectConverged(g, proxy, "10.0.0.7,10.0.0.12,2001:db8::1") }).Should(Succeed())
}
