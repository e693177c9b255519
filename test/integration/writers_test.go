package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// Other tools that write the PostHog Deployment, for real: the chart is
// installed and upgraded by helm, or rendered and applied by kubectl.

const webChart = "testdata/charts/posthog-web"

// kubectlCmd runs the built kubectl against the local control plane.
func kubectlCmd(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("KUBECTL_BIN")
	if bin == "" {
		t.Fatal("KUBECTL_BIN is not set: run the tests with make test")
	}
	out, err := exec.Command(bin, append(args, "--kubeconfig", adminKubeconfig(t, "kubectl"))...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// release is one version of the PostHog chart's values.
type release struct {
	tag      string
	extraEnv string // JSON list of env entries the chart appends
}

var (
	installed = release{tag: "release-1.43.0", extraEnv: "[]"}
	upgraded  = release{tag: "release-1.44.0", extraEnv: `[{"name":"FOO","value":"bar"}]`}
)

func (r release) values() []string {
	return []string{"--set", "image.tag=" + r.tag, "--set-json", "extraEnv=" + r.extraEnv}
}

// manifest renders the chart at a release into a file, as the manifest a
// person or a GitOps tool keeps in git.
func (r release) manifest(t *testing.T) string {
	t.Helper()
	out := helmCmd(t, append([]string{"template", "posthog", webChart}, r.values()...)...)
	path := filepath.Join(t.TempDir(), "posthog-web.yaml")
	Expect(os.WriteFile(path, []byte(out), 0o600)).To(Succeed())
	return path
}

// writer puts a release of the PostHog Deployment into a namespace.
type writer struct {
	name  string
	write func(t *testing.T, ns string, r release)
}

var writers = []writer{
	{"kubectl apply", func(t *testing.T, ns string, r release) {
		kubectlCmd(t, "apply", "-n", ns, "-f", r.manifest(t))
	}},
	{"kubectl apply --server-side", func(t *testing.T, ns string, r release) {
		kubectlCmd(t, "apply", "--server-side", "-n", ns, "-f", r.manifest(t))
	}},
	{"helm install and upgrade", func(t *testing.T, ns string, r release) {
		helmCmd(t, append([]string{"upgrade", "--install", "posthog", webChart, "--namespace", ns}, r.values()...)...)
	}},
	{"forced server-side apply as kustomize-controller", func(t *testing.T, ns string, r release) {
		kubectlCmd(t, "apply", "--server-side", "--force-conflicts", "--field-manager=kustomize-controller", "-n", ns, "-f", r.manifest(t))
	}},
}

// Each tool installs PostHog, the operator patches it, the tool upgrades it:
// every field the tool set is there, and so is the operator's env. Deleting
// the PostHogProxy leaves the Deployment exactly as the tool alone leaves
// its twin in another namespace.
func TestOtherWritersKeepTheirFieldsAndGetThemBackAlone(t *testing.T) {
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			RegisterTestingT(t)
			ns, twin := newNamespace(t), newNamespace(t)
			for _, n := range []string{ns, twin} {
				w.write(t, n, installed)
			}
			proxy, key := createReady(t, sampleProxy(ns, "posthog"))

			for _, n := range []string{ns, twin} {
				w.write(t, n, upgraded)
			}
			Eventually(func(g Gomega) { expectConverged(g, proxy, "10.0.0.7,10.0.0.12,2001:db8::1") }).Should(Succeed())
			d := getDeployment(Default, ns, "posthog-web")
			Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("posthog/posthog:release-1.44.0"))
			Expect(envOf(d, webContainer)).To(HaveKey("FOO"))
			waitForCondition(t, key, proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled)

			deleteAndWaitGone(t, proxy)
			Expect(writtenBy(t, ns)).To(Equal(writtenBy(t, twin)))
		})
	}
}

// A GitOps tool that force-applies one of the operator's variables with a
// value of its own wins the field; the operator says so, naming the field
// and the tool, and does not fight. Deleting the PostHogProxy leaves the
// tool's value.
func TestForcedApplyOfAnOperatorVariableIsReported(t *testing.T) {
	RegisterTestingT(t)
	ns, twin := newNamespace(t), newNamespace(t)
	gitops := writers[3]
	for _, n := range []string{ns, twin} {
		gitops.write(t, n, installed)
	}
	proxy, key := createReady(t, sampleProxy(ns, "posthog"))

	own := release{tag: installed.tag, extraEnv: `[{"name":"ALLOWED_HOSTS","value":"posthog.other.example"}]`}
	for _, n := range []string{ns, twin} {
		gitops.write(t, n, own)
	}
	got := waitForCondition(t, key, proxyv1.ConditionStalled, metav1.ConditionTrue, proxyv1.ReasonFieldConflict)
	msg := condition(got, proxyv1.ConditionTargetsReady).Message
	Expect(msg).To(ContainSubstring(`env[name="ALLOWED_HOSTS"]`))
	Expect(msg).To(ContainSubstring("kustomize-controller"))
	Expect(msg).To(ContainSubstring("spec.allowedHosts to Unmanaged"))
	Expect(envOf(getDeployment(Default, ns, "posthog-web"), webContainer)[desired.EnvAllowedHosts].Value).To(Equal("posthog.other.example"))

	deleteAndWaitGone(t, proxy)
	Expect(writtenBy(t, ns)).To(Equal(writtenBy(t, twin)))
}

// A tool that sets one of the operator's variables to a value PostHog reads
// the same way is left alone: no conflict, no rewrite of its spelling.
func TestSameValueInAnotherSpellingIsNotFought(t *testing.T) {
	RegisterTestingT(t)
	ns, twin := newNamespace(t), newNamespace(t)
	gitops := writers[3]
	spelled := release{tag: installed.tag, extraEnv: `[{"name":"IS_BEHIND_PROXY","value":"True"}]`}
	for _, n := range []string{ns, twin} {
		gitops.write(t, n, spelled)
	}
	proxy, _ := createReady(t, sampleProxy(ns, "posthog"))
	d := getDeployment(Default, ns, "posthog-web")
	Expect(envOf(d, webContainer)[desired.EnvIsBehindProxy].Value).To(Equal("True"))
	Expect(envOf(d, webContainer)).To(HaveKey(desired.EnvTrustedProxies))

	for _, n := range []string{ns, twin} {
		gitops.write(t, n, spelled)
	}
	Consistently(func(g Gomega) {
		g.Expect(getDeployment(g, ns, "posthog-web").Generation).To(Equal(d.Generation), "the two writers took turns")
	}).WithTimeout(2 * time.Second).Should(Succeed())
	deleteAndWaitGone(t, proxy)
	Expect(writtenBy(t, ns)).To(Equal(writtenBy(t, twin)))
}

// writtenBy is what another writer decides on a Deployment: its spec, labels
// and annotations, with the namespace name taken out.
func writtenBy(t *testing.T, ns string) string {
	t.Helper()
	d := &appsv1.Deployment{}
	Expect(k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "posthog-web"}, d)).To(Succeed())
	return strings.ReplaceAll(fmt.Sprintf("%s\nlabels %v\nannotations %v", toJSON(d.Spec), d.Labels, d.Annotations), ns, "NAMESPACE")
}
