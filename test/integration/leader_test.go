package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// adminKubeconfig writes a kubeconfig for a cluster admin of the local
// control plane, for the tools and processes a test runs.
func adminKubeconfig(t *testing.T, name string) string {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// managerProcess is the built manager binary, run as a process of its own.
type managerProcess struct {
	cmd     *exec.Cmd
	metrics string
	log     string
}

// startManagerProcess runs the manager binary with leader election, for
// the given namespaces, with extra flags.
func startManagerProcess(t *testing.T, kubeconfig, leaseNamespace string, namespaces []string, extra ...string) *managerProcess {
	t.Helper()
	bin := os.Getenv("MANAGER_BIN")
	if bin == "" {
		t.Fatal("MANAGER_BIN is not set: run the tests with make test, which builds the manager")
	}
	m := &managerProcess{metrics: freeAddress(t), log: filepath.Join(t.TempDir(), "manager.log")}
	logFile, err := os.Create(m.log)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig, "--leader-elect", "--leader-election-namespace=" + leaseNamespace,
		"--watch-namespaces=" + strings.Join(namespaces, ","),
		"--metrics-bind-address=" + m.metrics, "--health-probe-bind-address=0",
	}, extra...)
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.stop(syscall.SIGTERM)
		if t.Failed() {
			data, _ := os.ReadFile(m.log)
			t.Logf("log of manager pid %d:\n%s", m.cmd.Process.Pid, tail(string(data), 30))
		}
	})
	return m
}

func (m *managerProcess) stop(sig syscall.Signal) {
	if m.cmd.ProcessState != nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	_ = m.cmd.Wait()
}

// successfulReconciles reads the manager's own count of reconciles that
// ended without an error.
func (m *managerProcess) successfulReconciles() (int, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	total := 0
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "controller_runtime_reconcile_total{") &&
			strings.Contains(line, `controller="posthogproxy"`) && strings.Contains(line, `result="success"`) {
			fields := strings.Fields(line)
			n, err := strconv.Atoi(fields[len(fields)-1])
			if err != nil {
				return 0, err
			}
			total += n
		}
	}
	return total, scanner.Err()
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimSpace(s), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Two managers run with leader election; the leader, slowed by a low
// client rate limit, is killed (no chance to release its Lease) in the
// middle of a batch. The other takes over and completes every
// PostHogProxy. Then the operator is uninstalled and installed again: the
// new manager adopts what is there and writes nothing.
func TestLeaderKilledMidBatchAndReinstall(t *testing.T) {
	ctx := context.Background()
	RegisterTestingT(t)
	const batch = 10
	leaseNS := newNamespace(t)
	var proxies []*proxyv1.PostHogProxy
	var namespaces []string
	for range batch {
		_, ns := startWithPostHog(t)
		p := sampleProxy(ns, "posthog")
		p.Labels = map[string]string{unmanagedLabel: "processes"}
		proxies = append(proxies, p)
		namespaces = append(namespaces, ns)
	}
	kubeconfig := adminKubeconfig(t, "managers")
	slow := startManagerProcess(t, kubeconfig, leaseNS, namespaces, "--kube-api-qps=2", "--kube-api-burst=2")
	lease := &coordinationv1.Lease{}
	leaseKey := client.ObjectKey{Namespace: leaseNS, Name: "posthog-proxy-operator.proxy.posthog-operator.io"}
	Eventually(func() error { return k8sClient.Get(ctx, leaseKey, lease) }).WithTimeout(30 * time.Second).Should(Succeed())
	first := *lease.Spec.HolderIdentity
	standby := startManagerProcess(t, kubeconfig, leaseNS, namespaces)

	for _, p := range proxies {
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	}
	Eventually(func() int { return countReady(proxies) }).WithTimeout(60 * time.Second).Should(BeNumerically(">=", 1))
	Expect(countReady(proxies)).To(BeNumerically("<", batch), "the slow leader finished before it could be killed")
	slow.stop(syscall.SIGKILL)

	for _, p := range proxies {
		Eventually(func(g Gomega) { expectConverged(g, p, "10.0.0.7,10.0.0.12,2001:db8::1") }).
			WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), p.Namespace)
	}
	Expect(k8sClient.Get(ctx, leaseKey, lease)).To(Succeed())
	Expect(*lease.Spec.HolderIdentity).NotTo(Equal(first), "the standby never took the Lease")

	// Uninstall (the leader stops and hands its Lease back) and install again.
	standby.stop(syscall.SIGTERM)
	before := objectVersions(t, namespaces)
	reinstalled := startManagerProcess(t, kubeconfig, leaseNS, namespaces)
	Eventually(reinstalled.successfulReconciles).WithTimeout(60*time.Second).Should(BeNumerically(">=", batch),
		"the reinstalled manager did not reconcile every PostHogProxy")
	Expect(objectVersions(t, namespaces)).To(Equal(before), "the reinstalled manager wrote to objects it had already made")
}

func countReady(proxies []*proxyv1.PostHogProxy) int {
	n := 0
	for _, p := range proxies {
		live := &proxyv1.PostHogProxy{}
		if k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), live) == nil {
			if c := condition(live, proxyv1.ConditionReady); c != nil && c.Status == "True" {
				n++
			}
		}
	}
	return n
}

// objectVersions is the resourceVersion of every PostHogProxy, ConfigMap,
// Ingress and Deployment in the namespaces: any write, or any duplicate,
// changes it.
func objectVersions(t *testing.T, namespaces []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ns := range namespaces {
		for _, list := range []client.ObjectList{&proxyv1.PostHogProxyList{}, &corev1.ConfigMapList{}, &networkingv1.IngressList{}, &appsv1.DeploymentList{}} {
			Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
			Expect(meta.EachListItem(list, func(obj runtime.Object) error {
				item := obj.(client.Object)
				out[fmt.Sprintf("%T %s/%s", list, ns, item.GetName())] = item.GetResourceVersion()
				return nil
			})).To(Succeed())
		}
	}
	return out
}
