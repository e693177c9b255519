// Command manager runs the posthog-proxy-operator controller; `manager
// render` prints what it would apply for a PostHogProxy, with no cluster.
package main

import (
	"flag"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render" {
		os.Exit(runRender(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	var metricsAddr, probeAddr, presetsFile string
	var leaderElect bool
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one of several replicas reconciles.")
	flag.StringVar(&presetsFile, "presets-file", "", "YAML file of trusted proxy presets that add to or replace the built-in ones (see docs/trusted-proxies.md).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	if err := run(metricsAddr, probeAddr, presetsFile, leaderElect); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(metricsAddr, probeAddr, presetsFile string, leaderElect bool) error {
	presets, err := trust.BuiltInPresets()
	if err != nil {
		return err
	}
	if presetsFile != "" {
		if presets, err = presets.WithFile(presetsFile); err != nil {
			return err
		}
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(proxyv1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "posthog-proxy-operator.proxy.posthog-operator.io",
		Cache:                  controllers.CacheOptions(),
	})
	if err != nil {
		return err
	}
	reconciler := &controllers.PostHogProxyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Presets: presets}
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
