package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// restarted are the control plane processes a test started again by hand;
// the suite stops them before the control plane.
var restarted struct {
	sync.Mutex
	cmds []*exec.Cmd
}

func stopRestarted() {
	restarted.Lock()
	defer restarted.Unlock()
	for _, cmd := range restarted.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

// restartProcess kills the control plane process whose command line holds
// marker (its own certificate or data directory), waits down, and starts it
// again with the very same command line, keeping its certificates and data.
func restartProcess(t *testing.T, marker string, down time.Duration) {
	t.Helper()
	pid, args := processWith(t, marker)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	Eventually(func() bool { return gone(pid) }).WithTimeout(10 * time.Second).Should(BeTrue())
	time.Sleep(down)
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	restarted.Lock()
	restarted.cmds = append(restarted.cmds, cmd)
	restarted.Unlock()
}

// processWith finds the process whose command line holds marker.
func processWith(t *testing.T, marker string) (int, []string) {
	t.Helper()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		raw, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(raw, []byte(marker)) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if pid == os.Getpid() || gone(pid) {
			continue
		}
		var args []string
		for _, a := range bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0}) {
			args = append(args, string(a))
		}
		return pid, args
	}
	t.Fatalf("no process has %s on its command line", marker)
	return 0, nil
}

// gone says whether a process has exited (a zombie counts).
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || bytes.Contains(stat, []byte(") Z "))
}

// waitHealthy waits until the API server answers and reaches etcd.
func waitHealthy(t *testing.T) {
	t.Helper()
	Eventually(func() error {
		return k8sClient.List(context.Background(), &corev1.NamespaceList{}, client.Limit(1))
	}).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// The API server is killed while a batch of PostHogProxies is being
// reconciled, and etcd while their specs change; once both are back every
// one converges to its latest spec, with exactly one of each child and the
// chart's own env intact.
func TestConvergesAcrossAPIServerAndEtcdRestarts(t *testing.T) {
	ctx := context.Background()
	RegisterTestingT(t)
	const batch = 6
	var proxies []*proxyv1.PostHogProxy
	for range batch {
		_, ns := startWithPostHog(t)
		p := sampleProxy(ns, "posthog")
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		proxies = append(proxies, p)
	}
	restartProcess(t, env.ControlPlane.APIServer.CertDir, 2*time.Second)
	waitHealthy(t)

	// Half of them change while etcd is away: their new list must win.
	for _, p := range proxies[:batch/2] {
		Eventually(func(g Gomega) {
			live := getProxy(g, client.ObjectKeyFromObject(p))
			live.Spec.TrustedProxies.Addresses = append(live.Spec.TrustedProxies.Addresses, "192.0.2.10")
			g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	restartProcess(t, env.ControlPlane.Etcd.DataDir, 3*time.Second)
	waitHealthy(t)

	for i, p := range proxies {
		wantList := "10.0.0.7,10.0.0.12,2001:db8::1"
		if i < batch/2 {
			wantList = "10.0.0.7,10.0.0.12,192.0.2.10,2001:db8::1"
		}
		Eventually(func(g Gomega) { expectConverged(g, p, wantList) }).
			WithTimeout(60*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), p.Namespace)
	}
}

// expectConverged checks everything a sample PostHogProxy leads to: Ready
// for its latest generation, its one ConfigMap holding wantList, its one
// Ingress, the Deployment's env, and the chart's own variables.
func expectConverged(g Gomega, p *proxyv1.PostHogProxy, wantList string) {
	ctx := context.Background()
	live := getProxy(g, client.ObjectKeyFromObject(p))
	g.Expect(live.Status.ObservedGeneration).To(Equal(live.Generation))
	ready := condition(live, proxyv1.ConditionReady)
	g.Expect(ready).NotTo(BeNil())
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)

	ours := client.MatchingLabels{desired.InstanceLabel: p.Name}
	cms := &corev1.ConfigMapList{}
	g.Expect(k8sClient.List(ctx, cms, client.InNamespace(p.Namespace), ours)).To(Succeed())
	g.Expect(cms.Items).To(HaveLen(1))
	g.Expect(cms.Items[0].Data).To(HaveKeyWithValue(desired.TrustedProxiesKey, wantList))
	ingresses := &networkingv1.IngressList{}
	g.Expect(k8sClient.List(ctx, ingresses, client.InNamespace(p.Namespace), ours)).To(Succeed())
	g.Expect(ingresses.Items).To(HaveLen(1))

	env := envOf(getDeployment(g, p.Namespace, "posthog-web"), webContainer)
	g.Expect(env).To(HaveKeyWithValue(desired.EnvIsBehindProxy, corev1.EnvVar{Name: desired.EnvIsBehindProxy, Value: "true"}))
	g.Expect(env).To(HaveKey(desired.EnvTrustedProxies))
	g.Expect(env[desired.EnvTrustedProxies].ValueFrom.ConfigMapKeyRef.Name).To(Equal(cms.Items[0].Name))
	g.Expect(env).To(HaveKeyWithValue("DEPLOYMENT", corev1.EnvVar{Name: "DEPLOYMENT", Value: "helm_aws_ha"}))
	g.Expect(env).To(HaveKey("SECRET_KEY"))
}
