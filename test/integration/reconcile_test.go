package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// The main job: a PostHogProxy becomes a ConfigMap, an Ingress and env on
// the PostHog Deployment; other writers' env survives create, update and
// delete; deletion takes back exactly what the operator added.
func TestLifecycleKeepsOtherWritersEnv(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	original := postHogWeb(ns, "posthog-web")
	createAs(t, original, chartManager)
	before := getDeployment(Default, ns, "posthog-web")

	proxy := sampleProxy(ns, "posthog")
	// Roll on every list change here; the rollout window has tests of its own.
	proxy.Spec.TrustedProxies.Rollout.Window = &metav1.Duration{}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	got := waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)

	// Status.
	Expect(got.Status.URL).To(Equal("https://" + hostFor(ns)))
	Expect(got.Status.TrustedProxies).NotTo(BeNil())
	Expect(got.Status.TrustedProxies.Count).To(BeEquivalentTo(3))
	Expect(got.Status.Targets).To(Equal([]proxyv1.TargetStatus{{Name: "posthog-web", Containers: []string{webContainer}}}))
	Expect(condition(got, proxyv1.ConditionReconciling)).To(BeNil())
	Expect(condition(got, proxyv1.ConditionStalled)).To(BeNil())
	Expect(condition(got, proxyv1.ConditionInsecureConfiguration)).To(BeNil())
	Expect(got.Finalizers).To(ContainElement(desired.Finalizer))
	// The sample's probes send no Host header while ALLOWED_HOSTS is strict.
	risk := condition(got, proxyv1.ConditionProbeHostRisk)
	Expect(risk).NotTo(BeNil())
	Expect(risk.Message).To(ContainSubstring("posthog-web/posthog-web/livenessProbe"))

	// ConfigMap: canonical, sorted, de-duplicated, hashed, owned.
	cm := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog-trusted-proxies"}, cm)).To(Succeed())
	Expect(cm.Data[desired.TrustedProxiesKey]).To(Equal("10.0.0.7,10.0.0.12,2001:db8::1"))
	Expect(cm.Data[desired.HashKey]).To(Equal(got.Status.TrustedProxies.Hash))
	Expect(cm.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "posthog-proxy-operator"))
	expectControlledBy(cm.OwnerReferences, got)

	// Ingress: host rule to the Service, TLS at the ingress.
	ing := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "posthog"}, ing)).To(Succeed())
	Expect(*ing.Spec.IngressClassName).To(Equal("nginx"))
	Expect(ing.Spec.Rules).To(HaveLen(1))
	Expect(ing.Spec.Rules[0].Host).To(Equal(hostFor(ns)))
	path := ing.Spec.Rules[0].HTTP.Paths[0]
	Expect(path.Backend.Service.Name).To(Equal("posthog-web"))
	Expect(path.Backend.Service.Port.Number).To(BeEquivalentTo(8000))
	Expect(ing.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{hostFor(ns)}, SecretName: "posthog-tls"}}))
	expectControlledBy(ing.OwnerReferences, got)

	// Deployment: our env added, the chart's env intact, no owner reference.
	d := getDeployment(Default, ns, "posthog-web")
	env := envOf(d, webContainer)
	for _, e := range original.Spec.Template.Spec.Containers[0].Env {
		Expect(env).To(HaveKeyWithValue(e.Name, e), "the chart's %s", e.Name)
	}
	Expect(env[desired.EnvIsBehindProxy].Value).To(Equal("true"))
	Expect(env[desired.EnvAllowedHosts].Value).To(Equal(hostFor(ns)))
	Expect(env[desired.EnvTrustedProxies].ValueFrom.ConfigMapKeyRef.Name).To(Equal("posthog-trusted-proxies"))
	Expect(env[desired.EnvTrustedProxies].ValueFrom.ConfigMapKeyRef.Key).To(Equal(desired.TrustedProxiesKey))
	Expect(env).NotTo(HaveKey(desired.EnvTrustAllProxies), "trust-all is off, so the variable must not exist at all")
	Expect(env).NotTo(HaveKey(desired.EnvDisableSecureSSLRedirect))
	Expect(env).NotTo(HaveKey(desired.EnvSecureCookies))
	Expect(d.OwnerReferences).To(BeEmpty())
	Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue("checksum/secrets", "abc"))
	hash1 := d.Spec.Template.Annotations[desired.ConfigHashAnnotation]
	Expect(hash1).To(HavePrefix("sha256:"))
	Expect(managers(d)).To(ContainElements(chartManager+"/Update", desired.FieldManager+"/Apply"))

	// Someone else adds a variable while the operator's are in place.
	added := corev1.EnvVar{Name: "POSTHOG_EXTRA", Value: "added-later"}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
	d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, added)
	Expect(k8sClient.Update(ctx, d, client.FieldOwner("kubectl-edit"))).To(Succeed())
	before.Spec.Template.Spec.Containers[0].Env = append(before.Spec.Template.Spec.Containers[0].Env, added)

	// Update: a new address changes the list and the hash, nothing else.
	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	proxy.Spec.TrustedProxies.Addresses = append(proxy.Spec.TrustedProxies.Addresses, "10.0.0.1")
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
		g.Expect(cm.Data[desired.TrustedProxiesKey]).To(Equal("10.0.0.1,10.0.0.7,10.0.0.12,2001:db8::1"))
		d = getDeployment(g, ns, "posthog-web")
		g.Expect(d.Spec.Template.Annotations[desired.ConfigHashAnnotation]).NotTo(Equal(hash1))
	}).Should(Succeed())
	env = envOf(d, webContainer)
	for _, e := range before.Spec.Template.Spec.Containers[0].Env {
		Expect(env).To(HaveKeyWithValue(e.Name, e), "the other writers' %s after an update", e.Name)
	}

	// Delete: our env and annotations go, everything else is as before.
	Expect(k8sClient.Delete(ctx, proxy)).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, key, &proxyv1.PostHogProxy{}))
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the finalizer must not stick")
	after := getDeployment(Default, ns, "posthog-web")
	Expect(after.Spec.Template.Spec).To(Equal(before.Spec.Template.Spec))
	Expect(after.Spec.Template.Annotations).To(Equal(before.Spec.Template.Annotations))
	Expect(after.Annotations).NotTo(HaveKey(desired.PatchedByAnnotation))
	Expect(managers(after)).NotTo(ContainElement(HavePrefix(desired.FieldManager)))
}

func expectControlledBy(refs []metav1.OwnerReference, owner *proxyv1.PostHogProxy) {
	ExpectWithOffset(1, refs).To(HaveLen(1))
	ExpectWithOffset(1, refs[0].Kind).To(Equal("PostHogProxy"))
	ExpectWithOffset(1, refs[0].Name).To(Equal(owner.Name))
	ExpectWithOffset(1, refs[0].UID).To(Equal(owner.UID))
	ExpectWithOffset(1, *refs[0].Controller).To(BeTrue())
}

// A reconcile with nothing to change makes no write at all: no apply, no
// status update, no finalizer patch.
func TestSecondReconcileMakesZeroWrites(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))
	settled := versions(ctx, ns)

	counter := &writeCounter{}
	direct, err := client.New(counter.wrap(cfg), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.PostHogProxyReconciler{Client: direct, APIReader: direct}
	for range 3 {
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(counter.writes.Load()).To(BeZero(), "writes made by reconciles with nothing to change")
	Expect(versions(ctx, ns)).To(Equal(settled), "resourceVersions after reconciles with nothing to change")

	// And the counter does count writes made through it.
	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	base := proxy.DeepCopy()
	proxy.Annotations = map[string]string{"example.com/touched": "yes"}
	Expect(direct.Patch(ctx, proxy, client.MergeFrom(base))).To(Succeed())
	Expect(counter.writes.Load()).To(BeEquivalentTo(1))
}

// versions are the resourceVersions of everything in play in a namespace.
func versions(ctx context.Context, ns string) map[string]string {
	out := map[string]string{}
	for name, obj := range map[string]client.Object{
		"proxy":      &proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Name: "posthog"}},
		"configmap":  &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "posthog-trusted-proxies"}},
		"ingress":    &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "posthog"}},
		"deployment": postHogWeb(ns, "posthog-web"),
	} {
		ExpectWithOffset(1, k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: obj.GetName()}, obj)).To(Succeed())
		out[name] = obj.GetResourceVersion()
	}
	return out
}

// Trust-all sets TRUST_ALL_PROXIES and no list, is flagged as insecure, and
// going back to a list removes the variable rather than setting it to a
// false-looking value that PostHog would read as true.
func TestTrustAllIsExplicitAndFullyRemoved(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)

	got := waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	insecure := condition(got, proxyv1.ConditionInsecureConfiguration)
	Expect(insecure).NotTo(BeNil())
	Expect(insecure.Reason).To(Equal(proxyv1.ReasonTrustAllProxies))
	env := envOf(getDeployment(Default, ns, "posthog-web"), webContainer)
	Expect(env[desired.EnvTrustAllProxies].Value).To(Equal("true"))
	Expect(env).NotTo(HaveKey(desired.EnvTrustedProxies))

	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	proxy.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustListed, Addresses: []proxyv1.AddressOrRange{"10.0.0.7"}}
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	got = waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(condition(got, proxyv1.ConditionInsecureConfiguration)).To(BeNil())
	Eventually(func(g Gomega) {
		env := envOf(getDeployment(g, ns, "posthog-web"), webContainer)
		g.Expect(env).NotTo(HaveKey(desired.EnvTrustAllProxies))
		g.Expect(env).To(HaveKey(desired.EnvTrustedProxies))
	}).Should(Succeed())
}

// TLS termination decides PostHog's redirect and cookie settings.
func TestTLSTerminationSetsRedirectAndCookies(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSNone}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	got := waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(got.Status.URL).To(Equal("http://" + hostFor(ns)))
	env := envOf(getDeployment(Default, ns, "posthog-web"), webContainer)
	Expect(env[desired.EnvDisableSecureSSLRedirect].Value).To(Equal("true"))
	Expect(env[desired.EnvSecureCookies].Value).To(Equal("false"))
	ing := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, key, ing)).To(Succeed())
	Expect(ing.Spec.TLS).To(BeEmpty())

	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	proxy.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtLoadBalancer}
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Eventually(func(g Gomega) {
		env := envOf(getDeployment(g, ns, "posthog-web"), webContainer)
		g.Expect(env[desired.EnvDisableSecureSSLRedirect].Value).To(Equal("true"))
		g.Expect(env).NotTo(HaveKey(desired.EnvSecureCookies))
	}).Should(Succeed())
}

// A missing Deployment is a Stalled condition with a reason, then recovers
// by itself once the Deployment exists.
func TestMissingDeploymentThenCreated(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	proxy := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTargetNotFound)
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	Expect(condition(got, proxyv1.ConditionReady).Message).To(ContainSubstring("posthog-web does not exist"))
	// Everything else is still applied.
	Expect(condition(got, proxyv1.ConditionIngressReady).Status).To(Equal(metav1.ConditionTrue))
	Expect(condition(got, proxyv1.ConditionTrustedProxiesReady).Status).To(Equal(metav1.ConditionTrue))

	createAs(t, postHogWeb(ns, "posthog-web"), chartManager)
	got = waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(condition(got, proxyv1.ConditionStalled)).To(BeNil())
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).To(HaveKey(desired.EnvIsBehindProxy))
}

// A container name that is not in the Deployment is a condition naming the
// containers that are there.
func TestMissingContainer(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.Targets[0].Containers = []proxyv1.ContainerName{"web"}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonContainerNotFound)
	Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring("has no container web (it has posthog-web)"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).NotTo(HaveKey(desired.EnvIsBehindProxy))
}

// When another manager already owns one of the variables, the operator does
// not overwrite it and says who owns what.
func TestFieldOwnedByAnotherManagerIsReportedNotOverwritten(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	other := appsv1ac.Deployment("posthog-web", ns).WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
		corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithContainers(
			corev1ac.Container().WithName(webContainer).WithEnv(corev1ac.EnvVar().WithName("ALLOWED_HOSTS").WithValue("*"))))))
	Expect(k8sClient.Apply(ctx, other, client.FieldOwner("gitops-tool"))).To(Succeed())

	proxy := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonFieldConflict)
	msg := condition(got, proxyv1.ConditionTargetsReady).Message
	Expect(msg).To(ContainSubstring(`env[name="ALLOWED_HOSTS"].value`))
	Expect(msg).To(ContainSubstring("gitops-tool"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)["ALLOWED_HOSTS"].Value).To(Equal("*"))
}

// Two PostHogProxies never patch one Deployment: the second is told which
// one already does.
func TestSecondProxyOnOneDeploymentIsRefused(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	first := sampleProxy(ns, "first")
	Expect(k8sClient.Create(ctx, first)).To(Succeed())
	waitForCondition(t, client.ObjectKeyFromObject(first), proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)

	second := sampleProxy(ns, "second")
	second.Spec.Hosts = []proxyv1.Hostname{"other.example.com"}
	Expect(k8sClient.Create(ctx, second)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(second), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonTargetClaimed)
	Expect(condition(got, proxyv1.ConditionTargetsReady).Message).To(ContainSubstring("already patched by PostHogProxy first"))
	env := envOf(getDeployment(Default, ns, "posthog-web"), webContainer)
	Expect(env[desired.EnvAllowedHosts].Value).To(Equal(hostFor(ns)), "the first one's settings stay")

	// Deleting the refused one takes nothing from the first one's patch.
	deleteAndWaitGone(t, second)
	env = envOf(getDeployment(Default, ns, "posthog-web"), webContainer)
	Expect(env[desired.EnvAllowedHosts].Value).To(Equal(hostFor(ns)))
}

// Removing a target from the spec takes the patch back from it.
func TestRemovedTargetIsReleased(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	createAs(t, postHogWeb(ns, "posthog-web-canary"), chartManager)
	proxy := sampleProxy(ns, "posthog")
	proxy.Spec.Targets = append(proxy.Spec.Targets, proxyv1.TargetDeployment{Name: "posthog-web-canary"})
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	key := client.ObjectKeyFromObject(proxy)
	waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(envOf(getDeployment(Default, ns, "posthog-web-canary"), webContainer)).To(HaveKey(desired.EnvIsBehindProxy))

	Expect(k8sClient.Get(ctx, key, proxy)).To(Succeed())
	proxy.Spec.Targets = proxy.Spec.Targets[:1]
	Expect(k8sClient.Update(ctx, proxy)).To(Succeed())
	Eventually(func(g Gomega) {
		d := getDeployment(g, ns, "posthog-web-canary")
		g.Expect(envOf(d, webContainer)).NotTo(HaveKey(desired.EnvIsBehindProxy))
		g.Expect(d.Annotations).NotTo(HaveKey(desired.PatchedByAnnotation))
		g.Expect(slices.ContainsFunc(managers(d), func(m string) bool { return strings.HasPrefix(m, desired.FieldManager) })).To(BeFalse())
	}).Should(Succeed())
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).To(HaveKey(desired.EnvIsBehindProxy))
}

// Deletion takes the patch back even when someone removed the patched-by
// annotation from the Deployment.
func TestDeletionReleasesTargetWithoutItsAnnotation(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	before := getDeployment(Default, ns, "posthog-web")
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))

	// Strip the annotation with a JSON patch, as a hand edit would. The
	// operator puts it back; strip it again right before deleting.
	strip := client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/annotations/proxy.posthog-operator.io~1patched-by"}]`))
	Expect(k8sClient.Patch(ctx, getDeployment(Default, ns, "posthog-web"), strip, client.FieldOwner("someone"))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ns, "posthog-web").Annotations).To(HaveKeyWithValue(desired.PatchedByAnnotation, "posthog"))
	}).Should(Succeed(), "the operator restores its annotation")
	Expect(k8sClient.Patch(ctx, getDeployment(Default, ns, "posthog-web"), strip, client.FieldOwner("someone"))).To(Succeed())
	Expect(k8sClient.Delete(ctx, proxy)).To(Succeed())

	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, key, &proxyv1.PostHogProxy{}))
	}).WithTimeout(20 * time.Second).Should(BeTrue())
	after := getDeployment(Default, ns, "posthog-web")
	Expect(after.Spec.Template.Spec).To(Equal(before.Spec.Template.Spec))
	Expect(after.Spec.Template.Annotations).To(Equal(before.Spec.Template.Annotations))
}

// Objects of the same names that the user already had are never taken
// over: their data stays, they get no owner reference (which would have the
// garbage collector delete them with the PostHogProxy), and the Deployment
// is not pointed at a list the operator does not control.
func TestExistingObjectsOfTheSameNameAreNotTakenOver(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	theirs := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog-trusted-proxies", Namespace: ns},
		Data:       map[string]string{"TRUSTED_PROXIES": "192.0.2.1", "notes": "hand-made"},
	}
	createAs(t, theirs, "kubectl-create")
	theirIngress := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog", Namespace: ns},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "legacy", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	}
	createAs(t, theirIngress, "kubectl-create")

	proxy := sampleProxy(ns, "posthog")
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	got := waitForCondition(t, client.ObjectKeyFromObject(proxy), proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonAlreadyExists)
	Expect(condition(got, proxyv1.ConditionTrustedProxiesReady).Message).To(ContainSubstring(
		"ConfigMap posthog-trusted-proxies already exists and is not controlled by this PostHogProxy"))
	Expect(condition(got, proxyv1.ConditionIngressReady).Reason).To(Equal(proxyv1.ReasonAlreadyExists))
	Expect(condition(got, proxyv1.ConditionReconciling)).To(BeNil(), "a problem for a person is not retried")

	cm := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(theirs), cm)).To(Succeed())
	Expect(cm.Data).To(Equal(theirs.Data))
	Expect(cm.OwnerReferences).To(BeEmpty())
	ing := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(theirIngress), ing)).To(Succeed())
	Expect(ing.Spec).To(Equal(theirIngress.Spec))
	Expect(ing.OwnerReferences).To(BeEmpty())
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)).NotTo(HaveKey(desired.EnvTrustedProxies))
}

// A finalizer removed by hand comes back, so deletion still takes the patch
// back.
func TestFinalizerRemovedByHandIsRestored(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	_, key := createReady(t, sampleProxy(ns, "posthog"))

	Expect(k8sClient.Patch(ctx, getProxy(Default, key), client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`)))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(getProxy(g, key).Finalizers).To(ContainElement(desired.Finalizer))
	}).Should(Succeed())
}
