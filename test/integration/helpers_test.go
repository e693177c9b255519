package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

const (
	webContainer = "posthog-web"
	// chartManager stands for the tool that installed PostHog (Helm, say).
	chartManager = "posthog-chart"
)

var nsCounter atomic.Int32

// newNamespace makes a namespace of its own for one test. envtest runs no
// namespace controller, so namespaces are never deleted, only left behind.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// postHogWeb is a PostHog web Deployment shaped like the one PostHog's Helm
// chart installs: container posthog-web on port 8000, its own env, probes.
func postHogWeb(namespace, name string) *appsv1.Deployment {
	labels := map[string]string{"app": "posthog", "role": "web"}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromInt32(8000),
		}}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"checksum/secrets": "abc"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  webContainer,
					Image: "posthog/posthog:release-1.43.0",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}},
					Env: []corev1.EnvVar{
						{Name: "DEPLOYMENT", Value: "helm_aws_ha"},
						{Name: "SECRET_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "posthog"}, Key: "posthog-secret",
						}}},
					},
					LivenessProbe:  probe("/_livez"),
					ReadinessProbe: probe("/_readyz"),
				}}},
			},
		},
	}
}

// createAs creates an object under the given field manager, as another tool would.
func createAs(t *testing.T, obj client.Object, manager string) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj, client.FieldOwner(manager)); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// hostFor is the host of a test's PostHogProxy: one of its own, since a
// host is served by one PostHogProxy in the whole cluster.
func hostFor(namespace string) string { return namespace + ".posthog.test" }

// sampleProxy is a valid PostHogProxy for a Deployment named posthog-web.
func sampleProxy(namespace, name string) *proxyv1.PostHogProxy {
	return &proxyv1.PostHogProxy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: proxyv1.PostHogProxySpec{
			Targets: []proxyv1.TargetDeployment{{Name: "posthog-web"}},
			Hosts:   []proxyv1.Hostname{proxyv1.Hostname(hostFor(namespace))},
			TLS:     proxyv1.TLS{Termination: proxyv1.TLSAtIngress, SecretName: "posthog-tls"},
			TrustedProxies: proxyv1.TrustedProxies{
				Addresses: []proxyv1.AddressOrRange{"10.0.0.12", "10.0.0.7", "2001:DB8::1"},
			},
			Ingress: proxyv1.IngressSpec{
				ClassName: "nginx",
				Service:   proxyv1.BackendService{Name: "posthog-web", Port: proxyv1.BackendPort{Number: 8000}},
			},
		},
	}
}

func getProxy(g Gomega, key client.ObjectKey) *proxyv1.PostHogProxy {
	p := &proxyv1.PostHogProxy{}
	g.Expect(k8sClient.Get(context.Background(), key, p)).To(Succeed())
	return p
}

// condition returns the condition of the given type, or nil.
func condition(p *proxyv1.PostHogProxy, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(p.Status.Conditions, conditionType)
}

// waitForCondition waits until the PostHogProxy reports the condition with the
// given status and reason for its current generation.
func waitForCondition(t *testing.T, key client.ObjectKey, conditionType string, status metav1.ConditionStatus, reason string) *proxyv1.PostHogProxy {
	t.Helper()
	var last *proxyv1.PostHogProxy
	Eventually(func(g Gomega) {
		last = getProxy(g, key)
		g.Expect(last.Status.ObservedGeneration).To(Equal(last.Generation), "observedGeneration")
		c := condition(last, conditionType)
		g.Expect(c).NotTo(BeNil(), "condition %s", conditionType)
		g.Expect(c.Status).To(Equal(status), "%s: %s", c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}).WithTimeout(20 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	return last
}

func getDeployment(g Gomega, namespace, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d)).To(Succeed())
	return d
}

// envOf returns the env of a container as name → EnvVar.
func envOf(d *appsv1.Deployment, container string) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == container {
			for _, e := range c.Env {
				out[e.Name] = e
			}
		}
	}
	return out
}

// managers lists the field managers recorded on an object.
func managers(obj metav1.Object) []string {
	var out []string
	for _, e := range obj.GetManagedFields() {
		out = append(out, e.Manager+"/"+string(e.Operation))
	}
	return out
}

// writeCounter counts the requests that change something, made through a
// rest.Config it wraps.
type writeCounter struct{ writes atomic.Int64 }

func (w *writeCounter) wrap(base *rest.Config) *rest.Config {
	c := rest.CopyConfig(base)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			switch req.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
			default:
				w.writes.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// startWithPostHog registers gomega for the test and gives it a namespace of
// its own holding the PostHog web Deployment, created by the chart's field
// manager, with extra env appended.
func startWithPostHog(t *testing.T, extraEnv ...corev1.EnvVar) (context.Context, string) {
	t.Helper()
	RegisterTestingT(t)
	ns := newNamespace(t)
	d := postHogWeb(ns, "posthog-web")
	d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, extraEnv...)
	createAs(t, d, chartManager)
	return context.Background(), ns
}

// createReady creates a PostHogProxy and waits until it is Ready.
func createReady(t *testing.T, proxy *proxyv1.PostHogProxy) (*proxyv1.PostHogProxy, client.ObjectKey) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), proxy); err != nil {
		t.Fatalf("creating PostHogProxy %s: %v", proxy.Name, err)
	}
	key := client.ObjectKeyFromObject(proxy)
	return waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled), key
}

// deleteAndWaitGone deletes a PostHogProxy and waits until its finalizer
// has let it go.
func deleteAndWaitGone(t *testing.T, proxy *proxyv1.PostHogProxy) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Delete(ctx, proxy); err != nil {
		t.Fatalf("deleting PostHogProxy %s: %v", proxy.Name, err)
	}
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(proxy), &proxyv1.PostHogProxy{}))
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the finalizer of %s must not stick", proxy.Name)
}
