// Command demo runs the operator's main job end to end on a local control
// plane: it starts kube-apiserver and etcd, installs the CRD, applies a
// PostHog web Deployment shaped like PostHog's Helm chart and a
// PostHogProxy, runs the manager, waits for Ready, shows what the operator
// produced, deletes the PostHogProxy, checks the Deployment is back to
// exactly what it was, and stops everything it started.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const namespace = "posthog"

func main() {
	manager := flag.String("manager", "bin/manager", "path of the manager binary")
	kubectl := flag.String("kubectl", "kubectl", "path of kubectl")
	logPath := flag.String("manager-log", "bin/demo-manager.log", "where the manager's log goes; kept after the demo")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *manager, *kubectl, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
	fmt.Println("\ndemo passed: everything it started is stopped")
}

func run(ctx context.Context, managerBin, kubectlBin, logPath string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make demo`, which builds the local control plane")
	}
	work, err := os.MkdirTemp("", "posthog-proxy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("Starting a local control plane (kube-apiserver + etcd)")
	env := &envtest.Environment{ControlPlaneStartTimeout: 90 * time.Second}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		step("Stopping the control plane")
		_ = env.Stop()
	}()
	admin, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfigPath := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}
	k := kube{bin: kubectlBin, kubeconfig: kubeconfigPath}

	step("Installing the CRD")
	if err := k.show(ctx, "apply", "--server-side", "-f", "config/crd/bases"); err != nil {
		return err
	}
	if err := k.show(ctx, "wait", "--for=condition=Established", "crd/posthogproxies.proxy.posthog-operator.io", "--timeout=60s"); err != nil {
		return err
	}

	step("Applying the ingress controller's Service and EndpointSlices")
	if err := k.show(ctx, "apply", "--server-side", "-f", "config/samples/ingress-nginx.yaml"); err != nil {
		return err
	}
	step("Applying PostHog's web Deployment and Service (as its Helm chart would)")
	if err := k.show(ctx, "create", "namespace", namespace); err != nil {
		return err
	}
	if err := k.show(ctx, "apply", "--server-side", "-n", namespace, "-f", "config/samples/posthog-web.yaml"); err != nil {
		return err
	}
	before, err := k.othersFields(ctx)
	if err != nil {
		return err
	}

	step("Starting the operator")
	mgr, err := startManager(ctx, managerBin, kubeconfigPath, logPath)
	if err != nil {
		return err
	}
	defer mgr.stop()

	step("Applying the PostHogProxy")
	if err := k.show(ctx, "apply", "--server-side", "-n", namespace, "-f", "config/samples/proxy_v1alpha1_posthogproxy.yaml"); err != nil {
		return err
	}
	if err := k.show(ctx, "wait", "-n", namespace, "--for=condition=Ready", "posthogproxy/posthog", "--timeout=60s"); err != nil {
		return mgr.withLog(err)
	}
	if err := showProduced(ctx, k); err != nil {
		return err
	}
	if err := controllerRollout(ctx, k); err != nil {
		return mgr.withLog(err)
	}
	if err := deleteAndCompare(ctx, k, before); err != nil {
		return mgr.withLog(err)
	}
	return nil
}

// showProduced prints what the operator made of the PostHogProxy.
func showProduced(ctx context.Context, k kube) error {
	for _, s := range []struct {
		title string
		args  []string
	}{
		{"The PostHogProxy", []string{"get", "-n", namespace, "phpx", "-o", "wide"}},
		{"Its spec and status (the sample's probes, like PostHog's chart's, send no Host header: see ProbeHostRisk)",
			[]string{"get", "-n", namespace, "phpx/posthog", "-o", "yaml"}},
		{"The Ingress it created", []string{"get", "-n", namespace, "ingress/posthog", "-o", "yaml"}},
		{"The trusted proxy ConfigMap it created, from the controller's ready endpoints",
			[]string{"get", "-n", namespace, "configmap/posthog-trusted-proxies", "-o", "yaml"}},
		{"The PostHog web container's env: the chart's own variables plus the operator's",
			[]string{"get", "-n", namespace, "deployment/posthog-web", "-o", envColumns}},
		{"", []string{"get", "-n", namespace, "deployment/posthog-web", "-o", annotations}},
	} {
		if s.title != "" {
			step(s.title)
		}
		if err := k.show(ctx, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// controllerRollout replaces an ingress controller pod, as a rolling
// restart does, and shows the list follow at once while PostHog's pods roll
// once the rollout window has passed.
func controllerRollout(ctx context.Context, k kube) error {
	step("A rolling restart of the ingress controller replaces pod 10.42.0.15 with 10.42.2.31")
	if err := k.show(ctx, "get", "-n", namespace, "deployment/posthog-web", "-o", generation); err != nil {
		return err
	}
	if err := k.show(ctx, "patch", "-n", "ingress-nginx", "endpointslice/ingress-nginx-controller-v4", "--type=json",
		"-p", `[{"op":"replace","path":"/endpoints/1/addresses/0","value":"10.42.2.31"}]`); err != nil {
		return err
	}
	if err := waitFor(ctx, k, "{.status.trustedProxies.leaving[0].address}", "10.42.0.15"); err != nil {
		return err
	}
	step("The list follows at once, and the pod that left stays trusted while it drains; the pods wait for the window")
	if err := k.show(ctx, "get", "-n", namespace, "configmap/posthog-trusted-proxies", "-o", "jsonpath={.data.TRUSTED_PROXIES}{\"\\n\"}"); err != nil {
		return err
	}
	if err := k.show(ctx, "get", "-n", namespace, "phpx/posthog", "-o", rolloutColumns); err != nil {
		return err
	}
	step("Once the list has been quiet for the 10s window, PostHog's pods roll, once")
	if err := waitFor(ctx, k, "{.status.trustedProxies.lastRollout.reason}", "the trusted proxy list changed (now 4 entries)"); err != nil {
		return err
	}
	if err := k.show(ctx, "get", "-n", namespace, "phpx/posthog", "-o", rolloutColumns); err != nil {
		return err
	}
	return k.show(ctx, "get", "-n", namespace, "deployment/posthog-web", "-o", generation)
}

// waitFor polls a jsonpath of the PostHogProxy until it has a value.
func waitFor(ctx context.Context, k kube, jsonpath, want string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := k.output(ctx, "get", "-n", namespace, "phpx/posthog", "-o", "jsonpath="+jsonpath)
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is %q after 60s, want %q (%v)", jsonpath, got, want, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// deleteAndCompare deletes the PostHogProxy and checks the Deployment is
// back to what it was before.
func deleteAndCompare(ctx context.Context, k kube, before string) error {
	step("Deleting the PostHogProxy: the operator takes back its variables")
	if err := k.show(ctx, "delete", "-n", namespace, "phpx/posthog", "--wait", "--timeout=60s"); err != nil {
		return err
	}
	if err := k.show(ctx, "get", "-n", namespace, "deployment/posthog-web", "-o", envColumns); err != nil {
		return err
	}
	if err := k.show(ctx, "get", "-n", namespace, "deployment/posthog-web", "-o", annotations); err != nil {
		return err
	}
	after, err := k.othersFields(ctx)
	if err != nil {
		return err
	}
	if before != after {
		return fmt.Errorf("the Deployment differs from before the PostHogProxy:\nbefore: %s\nafter:  %s", before, after)
	}
	fmt.Println("The Deployment's annotations and pod template are exactly what they were before the PostHogProxy existed (compared as JSON).")
	fmt.Println("The ConfigMap and Ingress carry owner references: a cluster's garbage collector deletes them with the PostHogProxy; this local control plane runs none.")
	return nil
}

const (
	generation     = `jsonpath=Deployment generation (one more per pod-template change): {.metadata.generation}{"\n"}`
	rolloutColumns = `jsonpath=hash:        {.status.trustedProxies.hash}{"\n"}rolledHash:  {.status.trustedProxies.rolledHash}{"\n"}leaving:     {.status.trustedProxies.leaving}{"\n"}lastRollout: {.status.trustedProxies.lastRollout}{"\n"}Reconciling (absent once nothing waits): {.status.conditions[?(@.type=="Reconciling")].message}{"\n"}`
	envColumns     = `jsonpath={range .spec.template.spec.containers[?(@.name=="posthog-web")].env[*]}{.name}{"\t"}{.value}{.valueFrom}{"\n"}{end}`
	annotations    = `jsonpath=Deployment annotations: {.metadata.annotations}{"\n"}pod template annotations: {.spec.template.metadata.annotations}{"\n"}`
)

func step(title string) { fmt.Printf("\n== %s\n", title) }

// kube runs kubectl against the demo's control plane.
type kube struct{ bin, kubeconfig string }

func (k kube) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	return cmd
}

// show prints a kubectl command and runs it with its output on the terminal.
func (k kube) show(ctx context.Context, args ...string) error {
	fmt.Println("$ kubectl " + shellQuote(args))
	cmd := k.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// shellQuote writes arguments so that the printed command can be pasted.
func shellQuote(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t\"'{}[]()?*$\\|&;<>") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}

func (k kube) output(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := k.command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// manager is the operator running as its own process.
type manager struct {
	cmd *exec.Cmd
	log string
}

func startManager(ctx context.Context, bin, kubeconfig, logPath string) (*manager, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--zap-log-level=info")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	fmt.Printf("manager pid %d, log in %s\n", cmd.Process.Pid, logPath)
	return &manager{cmd: cmd, log: logPath}, nil
}

func (m *manager) stop() {
	step("Stopping the operator")
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
}

// withLog adds the end of the manager's log to an error.
func (m *manager) withLog(err error) error {
	data, _ := os.ReadFile(m.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return fmt.Errorf("%w\nlast lines of the manager's log:\n%s", err, strings.Join(lines, "\n"))
}

// othersFields are the parts of the PostHog Deployment the operator patches
// — its annotations and pod template — as canonical JSON.
func (k kube) othersFields(ctx context.Context) (string, error) {
	out, err := k.output(ctx, "get", "-n", namespace, "deployment/posthog-web", "-o", "json")
	if err != nil {
		return "", err
	}
	var d appsv1.Deployment
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return "", err
	}
	parts, err := json.Marshal(map[string]any{"annotations": d.Annotations, "template": d.Spec.Template})
	return string(parts), err
}
