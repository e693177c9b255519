// Package harness starts what the envtest suites share: the local control
// plane with the CRD installed, and the manager with the reconciler; and
// reads the environment a PostHog pod would start with.
package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// ControlPlane is kube-apiserver and etcd from KUBEBUILDER_ASSETS with the
// PostHogProxy CRD from config/crd/bases, with time to start on a busy
// two-core machine.
func ControlPlane() *envtest.Environment {
	_, file, _, _ := runtime.Caller(0)
	return &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(filepath.Dir(file), "..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
}

// StartManager runs the reconciler in a manager of its own, with metrics
// off, until stop is called; stop returns the manager's error.
func StartManager(cfg *rest.Config, scheme *k8sruntime.Scheme, cacheOpts cache.Options, presets trust.Presets) (stop func() error, err error) {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cacheOpts,
	})
	if err != nil {
		return nil, err
	}
	if err := (&controllers.PostHogProxyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Presets: presets}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error {
		cancel()
		return <-done
	}, nil
}

// PodEnv is the environment a pod of the Deployment would start with in
// the container: literal values, and ConfigMap references resolved. Values
// from other sources (Secrets, fields) are left out; PostHog's proxy
// settings never come from them.
func PodEnv(ctx context.Context, c client.Reader, d *appsv1.Deployment, container string) (map[string]string, error) {
	env := map[string]string{}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		if ctr.Name != container {
			continue
		}
		for _, e := range ctr.Env {
			switch {
			case e.ValueFrom == nil:
				env[e.Name] = e.Value
			case e.ValueFrom.ConfigMapKeyRef != nil:
				ref := e.ValueFrom.ConfigMapKeyRef
				cm := &corev1.ConfigMap{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: ref.Name}, cm); err != nil {
					return nil, fmt.Errorf("%s: %w", e.Name, err)
				}
				env[e.Name] = cm.Data[ref.Key]
			}
		}
	}
	return env, nil
}
