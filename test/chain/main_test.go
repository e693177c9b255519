// Package chain proves the generated configuration through real HTTP: a
// real Traefik reading the operator's Ingresses from a real API server,
// real NGINX and Apache httpd as the proxies in front, rendered by
// `manager render --edge`, and a backend that decides like PostHog from the
// environment the operator gave its Deployment.
//
// It needs root (for the backend's network namespace), the Traefik binary,
// NGINX and Apache unpacked from Debian packages, and the manager binary:
// `make test` provides all of them and sets CHAIN_TESTS=required, so that a
// missing piece fails the run instead of skipping it.
package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
	"github.com/posthog-operator/posthog-proxy-operator/test/harness"
	"github.com/posthog-operator/posthog-proxy-operator/test/oracle"
)

var (
	scheme = runtime.NewScheme()
	k8s    client.Client
	// work is the suite's scratch folder, readable by the proxies' workers,
	// which drop root.
	work string
	bins binaries
	// traefik serves the class traefik; traefikInternal the class of a
	// private Ingress.
	traefik, traefikInternal *traefikInstance
	posthog                  = &backend{}
	certs                    *certificates
)

type binaries struct {
	manager, traefik, proxiesRoot string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	bins = binaries{manager: os.Getenv("MANAGER_BIN"), traefik: os.Getenv("TRAEFIK_BIN"), proxiesRoot: os.Getenv("HTTP_PROXIES_ROOT")}
	if missing := requirements(); missing != "" {
		if os.Getenv("CHAIN_TESTS") == "required" {
			fmt.Fprintln(os.Stderr, "the HTTP chain suite cannot run:", missing)
			return 1
		}
		fmt.Fprintln(os.Stderr, "skipping the HTTP chain suite:", missing, "(make test provides everything it needs)")
		return 0
	}
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(proxyv1.AddToScheme(scheme))
	level := zapcore.DPanicLevel
	if os.Getenv("TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))

	var err error
	removeAbandonedWork()
	if work, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", workPrefix, os.Getpid())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if certs, err = newCertificates(work, postHogHost); err != nil {
		fmt.Fprintln(os.Stderr, "certificates:", err)
		return 1
	}

	teardownNetwork, err := setUpNetwork()
	if err != nil {
		fmt.Fprintln(os.Stderr, "network namespace:", err)
		return 1
	}
	defer teardownNetwork()
	stopBackend, err := posthog.start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		return 1
	}
	defer stopBackend()

	env := harness.ControlPlane()
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the local control plane:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	presets, err := trust.BuiltInPresets()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stopManager, err := harness.StartManager(cfg, scheme, controllers.CacheOptions(), presets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	defer func() {
		if err := stopManager(); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	if err := createCluster(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "cluster objects:", err)
		return 1
	}

	// The ingress controllers stop before the API server: with their
	// watches open, the API server takes a minute to stop.
	kubeconfig, err := writeKubeconfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if traefik, err = startTraefik("traefik", publicClass, kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer traefik.stop()
	if traefikInternal, err = startTraefik("traefik-internal", internalClass, kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer traefikInternal.stop()
	return m.Run()
}

const workPrefix = "posthog-chain-"

// removeAbandonedWork deletes the scratch folders of runs whose process is
// gone.
func removeAbandonedWork() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*-*"))
	for _, dir := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), workPrefix), "-")
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			_ = os.RemoveAll(dir)
		}
	}
}

// requirements says what is missing to run the suite, or nothing.
func requirements() string {
	if os.Geteuid() != 0 {
		return "it needs root, for the backend's network namespace"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "it needs the ip command (iproute2)"
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return "KUBEBUILDER_ASSETS is not set"
	}
	for env, path := range map[string]string{"MANAGER_BIN": bins.manager, "TRAEFIK_BIN": bins.traefik,
		"HTTP_PROXIES_ROOT": bins.proxiesRoot} {
		if path == "" {
			return env + " is not set"
		}
		if _, err := os.Stat(path); err != nil {
			return env + ": " + err.Error()
		}
	}
	return ""
}

// writeKubeconfig gives the ingress controllers the suite's credentials.
func writeKubeconfig(cfg *rest.Config) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(work, "kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// backend is the PostHog web pod: it decides like PostHog from the
// environment its Deployment holds, which the tests load after each change
// as a new pod would start with it.
type backend struct {
	mu       sync.Mutex
	settings oracle.Settings
	seen     int
}

func (b *backend) start() (stop func(), err error) {
	l, err := listenInNetns(backendAddr + ":8000")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: oracle.Handler(b.current, b.record), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "backend:", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}

func (b *backend) current() oracle.Settings {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.settings
}

func (b *backend) set(s oracle.Settings) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settings = s
}

func (b *backend) record(oracle.Decision) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen++
}

// requests is how many requests have reached PostHog.
func (b *backend) requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen
}
