// Command manager runs the posthog-proxy-operator controller; `manager
// render` prints what it would apply for a PostHogProxy, with no cluster.
package main

import (
	"flag"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/leaderelection"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(runRender(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	var opts options
	flag.StringVar(&opts.metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to; 0 disables them.")
	flag.BoolVar(&opts.leaderElect, "leader-elect", false, "Elect a leader, so that only one of several replicas reconciles (turn it on with more than one).")
	flag.StringVar(&opts.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease; in a cluster, the manager's own.")
	flag.StringVar(&opts.watchNamespaces, "watch-namespaces", "", "Comma-separated namespaces whose PostHogProxies (and their Deployments, Services and EndpointSlices) the manager watches; empty: all.")
	flag.StringVar(&opts.presetsFile, "presets-file", "", "YAML file of trusted proxy presets that add to or replace the built-in ones (see docs/trusted-proxies.md).")
	flag.Float64Var(&opts.qps, "kube-api-qps", 20, "Requests per second the manager sends to the API server for each kind of object, on average.")
	flag.IntVar(&opts.burst, "kube-api-burst", 30, "Requests of one kind the manager may send to the API server at once, above --kube-api-qps.")
	flag.IntVar(&opts.concurrency, "concurrent-reconciles", 4, "PostHogProxies reconciled at the same time.")
	flag.DurationVar(&opts.syncPeriod, "sync-period", 10*time.Hour, "How often every PostHogProxy is reconciled again without a change; a reconcile with nothing to change writes nothing.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	if err := run(opts); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

// options are the manager's flags.
type options struct {
	metricsAddr, probeAddr, presetsFile      string
	leaderElect                              bool
	leaderElectionNamespace, watchNamespaces string
	qps                                      float64
	burst, concurrency                       int
	syncPeriod                               time.Duration
}

func run(opts options) error {
	presets, err := trust.BuiltInPresets()
	if err != nil {
		return err
	}
	if opts.presetsFile != "" {
		if presets, err = presets.WithFile(opts.presetsFile); err != nil {
			return err
		}
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(proxyv1.AddToScheme(scheme))

	config, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	config.QPS, config.Burst = float32(opts.qps), opts.burst
	cacheOptions := controllers.CacheOptions(splitList(opts.watchNamespaces)...)
	cacheOptions.SyncPeriod = &opts.syncPeriod
	const leaderElectionID = "posthog-proxy-operator.proxy.posthog-operator.io"
	lock, err := leaderelection.NewResourceLock(config, noLeaderEvents{}, leaderelection.Options{
		LeaderElection: opts.leaderElect, LeaderElectionID: leaderElectionID,
		LeaderElectionNamespace: opts.leaderElectionNamespace, RenewDeadline: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(config, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.metricsAddr},
		HealthProbeBindAddress:  opts.probeAddr,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: opts.leaderElectionNamespace,
		// The Lease names the leader; an Event for every change of leader
		// would be a write with nothing to act on.
		LeaderElectionResourceLockInterface: lock,
		// A new leader takes over at once instead of waiting out the lease.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOptions,
	})
	if err != nil {
		return err
	}
	reconciler := &controllers.PostHogProxyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Presets: presets,
		MaxConcurrentReconciles: opts.concurrency}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// noLeaderEvents gives leader election no event recorder, so it writes no
// Events.
type noLeaderEvents struct{}

func (noLeaderEvents) GetEventRecorderFor(string) record.EventRecorder { return nil }
func (noLeaderEvents) GetEventRecorder(string) recorder.EventRecorder  { return nil }
