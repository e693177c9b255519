package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
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
	var objs []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}
