package integration

import (
	"context"
	"os"
	"os/exec"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kustomizeObjects builds a kustomization with the kustomize that ships in
// the built kubectl.
func kustomizeObjects(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl := os.Getenv("KUBECTL_BIN")
	if kubectl == "" {
		t.Fatal("KUBECTL_BIN is not set: run the tests with make test")
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return decodeObjects(t, "kubectl kustomize "+dir, out)
}

// config/default builds into a complete install that the API server
// accepts, with a manager that passes the restricted Pod Security profile.
func TestKustomizeDefaultIsACompleteRestrictedInstall(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	objs := kustomizeObjects(t, "../../config/default")

	kinds := map[string]int{}
	var deployment *appsv1.Deployment
	for _, obj := range objs {
		kinds[obj.GetKind()]++
		if obj.GetKind() == "Deployment" {
			deployment = &appsv1.Deployment{}
			Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, deployment)).To(Succeed())
		}
	}
	Expect(kinds).To(Equal(map[string]int{"Namespace": 1, "CustomResourceDefinition": 1, "ServiceAccount": 1, "Role": 1,
		"ClusterRole": 1, "RoleBinding": 1, "ClusterRoleBinding": 1, "Service": 1, "Deployment": 1}))

	// The API server takes every object (server-side apply; a dry run but
	// for the namespace, which the others need).
	for _, obj := range objs {
		opts := []client.ApplyOption{client.FieldOwner("install-test"), client.ForceOwnership}
		if obj.GetKind() != "Namespace" {
			opts = append(opts, client.DryRunAll)
		}
		Expect(k8sClient.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), opts...)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
	}

	// The manager's pod is admitted in a namespace that enforces the
	// restricted Pod Security profile.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restricted-install-test",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "manager", Namespace: ns.Name}, Spec: deployment.Spec.Template.Spec}
	pod.Spec.ServiceAccountName = ""
	Expect(k8sClient.Create(ctx, pod, client.DryRunAll)).To(Succeed())
	// And the check can fail: the same pod without allowPrivilegeEscalation
	// false is refused.
	pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
	Expect(k8sClient.Create(ctx, pod, client.DryRunAll)).NotTo(Succeed())
}
