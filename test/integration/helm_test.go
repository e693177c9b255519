package integration

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var updateHelm = flag.Bool("update-helm", false, "rewrite testdata/helm-template.yaml")

const chart = "../../charts/posthog-proxy-operator"

// helmCmd runs the built helm against the local control plane.
func helmCmd(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("HELM_BIN")
	if bin == "" {
		t.Fatal("HELM_BIN is not set: run the tests with make test, which builds helm")
	}
	path := adminKubeconfig(t, "helm")
	dir := t.TempDir()
	cmd := exec.Command(bin, append(args, "--kubeconfig", path)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The chart lints, and renders to a reviewed result.
func TestHelmLintAndTemplate(t *testing.T) {
	RegisterTestingT(t)
	helmCmd(t, "lint", chart, "--strict")
	got := helmCmd(t, "template", "posthog-proxy-operator", chart, "--namespace", "posthog-proxy-operator-system")
	file := filepath.Join("testdata", "helm-template.yaml")
	if *updateHelm {
		Expect(os.MkdirAll("testdata", 0o755)).To(Succeed())
		Expect(os.WriteFile(file, []byte(got), 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred(), "run go test ./test/integration -run TestHelmLintAndTemplate -update-helm and review")
	Expect(got).To(Equal(string(want)), "the chart renders differently; if meant, run with -update-helm and review the diff")
}

// helm install, upgrade and uninstall against the real API server: the
// release's objects appear, follow the new values, and go; the CRD, which
// the suite installed, is left to the suite (crds.install=false).
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	RegisterTestingT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	helmCmd(t, "install", "ppo", chart, "--namespace", ns, "--set", "crds.install=false")
	deployment := &appsv1.Deployment{}
	key := client.ObjectKey{Namespace: ns, Name: "ppo-posthog-proxy-operator"}
	Expect(k8sClient.Get(ctx, key, deployment)).To(Succeed())
	Expect(*deployment.Spec.Replicas).To(BeEquivalentTo(1))
	Expect(deployment.Spec.Template.Spec.Containers[0].Args).NotTo(ContainElement("--leader-elect"))
	role := &rbacv1.ClusterRole{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "ppo-posthog-proxy-operator"}, role)).To(Succeed())
	Expect(role.Rules).NotTo(BeEmpty())

	helmCmd(t, "upgrade", "ppo", chart, "--namespace", ns, "--set", "crds.install=false", "--set", "replicaCount=2",
		"--set", "watchNamespaces={"+ns+"}")
	Expect(k8sClient.Get(ctx, key, deployment)).To(Succeed())
	Expect(*deployment.Spec.Replicas).To(BeEquivalentTo(2))
	Expect(deployment.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--leader-elect", "--watch-namespaces="+ns))
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ppo-posthog-proxy-operator-leader-election"}, &rbacv1.Role{})).To(Succeed())

	helmCmd(t, "uninstall", "ppo", "--namespace", ns)
	Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key, &appsv1.Deployment{}))).To(BeTrue(), "the manager goes with the release")
	Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: "ppo-posthog-proxy-operator"}, &rbacv1.ClusterRole{}))).To(BeTrue())
}
