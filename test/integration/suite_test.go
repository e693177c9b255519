// Package integration runs the operator against a real kube-apiserver and
// etcd (envtest), built by `make control-plane`.
package integration

import (
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"go.uber.org/zap/zapcore"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
	"github.com/posthog-operator/posthog-proxy-operator/test/harness"
)

var (
	env       *envtest.Environment
	scheme    = runtime.NewScheme()
	cfg       *rest.Config
	k8sClient client.Client
	presets   trust.Presets
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds the local control plane")
		return 1
	}
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(proxyv1.AddToScheme(scheme))
	// Gomega's one second is too short for a busy two-core machine; a
	// test that needs a bound of its own sets it.
	SetDefaultEventuallyTimeout(10 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	// Quiet by default: cancelling the manager at the end logs in-flight
	// reconciles as errors. TEST_VERBOSE=1 shows everything.
	level := zapcore.DPanicLevel
	if os.Getenv("TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))

	env = harness.ControlPlane()
	start := time.Now()
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the local control plane:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	defer stopRestarted()
	fmt.Fprintf(os.Stderr, "local control plane up in %s\n", time.Since(start).Round(time.Millisecond))

	if k8sClient, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	if presets, err = trust.BuiltInPresets(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stopManager, err := harness.StartManager(cfg, scheme, suiteCacheOptions(), presets)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	code := m.Run()
	if err := stopManager(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	return code
}

// unmanagedLabel keeps a PostHogProxy away from the suite's manager, so a
// test can drive a reconciler of its own (with faults injected, or writes
// counted) without a second one racing it.
const unmanagedLabel = "test.posthog-operator.io/unmanaged"

func suiteCacheOptions() cache.Options {
	opts := controllers.CacheOptions()
	notUnmanaged, err := labels.Parse("!" + unmanagedLabel)
	utilruntime.Must(err)
	opts.ByObject[&proxyv1.PostHogProxy{}] = cache.ByObject{Label: notUnmanaged}
	return opts
}
