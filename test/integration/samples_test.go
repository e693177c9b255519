package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/render"
)

// The samples the README and the demo point to are valid and reach Ready.
func TestSamplesReachReady(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	// The ingress controller's objects keep their own namespace, which the
	// PostHogProxy names; nothing else in the suite uses it.
	for _, obj := range readObjects(t, filepath.Join("..", "..", "config", "samples", "ingress-nginx.yaml")) {
		Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
	}
	for _, file := range []string{"posthog-web.yaml", "proxy_v1alpha1_posthogproxy.yaml"} {
		for _, obj := range readObjects(t, filepath.Join("..", "..", "config", "samples", file)) {
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "%s %s from %s", obj.GetKind(), obj.GetName(), file)
		}
	}
	got := waitForCondition(t, client.ObjectKey{Namespace: ns, Name: "posthog"}, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	Expect(got.Status.TrustedProxies.Count).To(BeEquivalentTo(3))
	Expect(publishedList(Default, ns)).To(Equal("10.42.0.15,10.42.1.23,fd00:10:42::17"))
}

func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, path, data)
}

// decodeObjects reads YAML or JSON documents into objects.
func decodeObjects(t *testing.T, source string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

// render, fed the objects as they are in the cluster, prints exactly what
// the controller applied: the same fields the controller's field manager
// owns on the ConfigMap, the Ingress and the Deployment.
func TestRenderMatchesWhatTheControllerApplied(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	for _, file := range []string{"posthog-web.yaml", "proxy_v1alpha1_posthogproxy.yaml"} {
		for _, obj := range readObjects(t, filepath.Join("..", "..", "config", "samples", file)) {
			obj.SetNamespace(ns)
			if obj.GetKind() == "PostHogProxy" {
				// The samples test holds the sample's host; this one needs its own.
				Expect(unstructured.SetNestedStringSlice(obj.Object, []string{hostFor(ns)}, "spec", "hosts")).To(Succeed())
				Expect(unstructured.SetNestedStringSlice(obj.Object, []string{"10.0.0.7"}, "spec", "trustedProxies", "addresses")).To(Succeed())
				unstructured.RemoveNestedField(obj.Object, "spec", "trustedProxies", "services")
			}
			if obj.GetKind() == "Deployment" {
				containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
				env := containers[0].(map[string]any)["env"].([]any)
				for _, e := range env {
					if e.(map[string]any)["name"] == "SITE_URL" {
						e.(map[string]any)["value"] = "https://" + hostFor(ns)
					}
				}
				Expect(unstructured.SetNestedSlice(obj.Object, containers, "spec", "template", "spec", "containers")).To(Succeed())
			}
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		}
	}
	proxy := waitForCondition(t, client.ObjectKey{Namespace: ns, Name: "posthog"}, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)
	deployment := getDeployment(Default, ns, "posthog-web")

	var input bytes.Buffer
	for _, obj := range []client.Object{proxy, deployment} {
		gvk, err := apiutil.GVKForObject(obj, scheme)
		Expect(err).NotTo(HaveOccurred())
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		data, err := yaml.Marshal(obj)
		Expect(err).NotTo(HaveOccurred())
		input.Write(data)
		input.WriteString("---\n")
	}
	in, err := render.Read(&input, ns)
	Expect(err).NotTo(HaveOccurred())
	out := render.Render(in, presets, time.Now())
	Expect(out.Problems).To(BeEmpty())

	cm := &corev1.ConfigMap{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "posthog-trusted-proxies"}, cm)).To(Succeed())
	ownedCM, err := corev1ac.ExtractConfigMap(cm, desired.FieldManager)
	Expect(err).NotTo(HaveOccurred())
	Expect(toJSON(out.ConfigMap)).To(MatchJSON(toJSON(ownedCM)))

	ing := &networkingv1.Ingress{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "posthog"}, ing)).To(Succeed())
	ownedIng, err := networkingv1ac.ExtractIngress(ing, desired.FieldManager)
	Expect(err).NotTo(HaveOccurred())
	Expect(out.Ingresses).To(HaveLen(1))
	Expect(toJSON(out.Ingresses[0])).To(MatchJSON(toJSON(ownedIng)))

	ownedDeploy, err := appsv1ac.ExtractDeployment(deployment, desired.FieldManager)
	Expect(err).NotTo(HaveOccurred())
	Expect(out.Deployments).To(HaveLen(1))
	Expect(toJSON(out.Deployments[0])).To(MatchJSON(toJSON(ownedDeploy)))
}

func toJSON(v any) string {
	data, err := json.Marshal(v)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return string(data)
}
