package main

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// ownWork is how many PostHogProxies the manager converges while its
// memory is measured: the same work with and without unrelated objects.
const ownWork = 20

// peakMemory starts a manager, lets it converge ownWork new
// PostHogProxies, and returns its peak resident memory.
func peakMemory(ctx context.Context, cl *cluster, o options, name string) (int64, error) {
	m, err := startManager(cl, o.manager, filepath.Join(o.work, name+".log"), o.managerFlags()...)
	if err != nil {
		return 0, err
	}
	defer m.stop(syscall.SIGTERM)
	deployments, proxies := fleet(name, ownWork)
	if err := cl.createAll(ctx, append([]client.Object{namespace(name)}, deployments...)); err != nil {
		return 0, err
	}
	ready, err := watchReady(ctx, cl, name)
	if err != nil {
		return 0, err
	}
	defer ready.stop()
	if _, err := cl.createTimed(ctx, proxies); err != nil {
		return 0, err
	}
	if _, err := ready.wait(ctx, ownWork, 5*time.Minute); err != nil {
		return 0, fmt.Errorf("%w (manager log: %s)", err, m.log)
	}
	if _, _, err := m.settledWrites(ctx, 2*time.Second); err != nil {
		return 0, err
	}
	peak, err := m.peakRSS()
	if err != nil {
		return 0, err
	}
	// The next run's manager watches every namespace: these must not be
	// its work.
	m.stop(syscall.SIGTERM)
	return peak, cl.forget(ctx, proxies)
}

// forget deletes PostHogProxies with no manager running, finalizers and
// all.
func (cl *cluster) forget(ctx context.Context, proxies []*proxyv1.PostHogProxy) error {
	for _, p := range proxies {
		live := &proxyv1.PostHogProxy{}
		if err := cl.c.Get(ctx, client.ObjectKeyFromObject(p), live); err != nil {
			return err
		}
		live.Finalizers = nil
		if err := cl.c.Update(ctx, live); err != nil {
			return err
		}
		if err := cl.c.Delete(ctx, live); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// noise fills the cluster with n Deployments, n ConfigMaps and n
// EndpointSlices that have nothing to do with PostHog, in ten namespaces,
// shaped like an ordinary workload's.
func noise(ctx context.Context, cl *cluster, n int) error {
	var objs []client.Object
	for i := range 10 {
		objs = append(objs, namespace(fmt.Sprintf("noise-%d", i)))
	}
	if err := cl.createAll(ctx, objs); err != nil {
		return err
	}
	objs = objs[:0]
	for i := range n {
		ns, name := fmt.Sprintf("noise-%d", i%10), fmt.Sprintf("app-%d", i)
		labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"}
		objs = append(objs,
			deployment(ns, name, labels, corev1.Container{
				Name: "app", Image: "registry.example.com/shop/" + name + ":1.2.3",
				Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"},
					{Name: "DATABASE_URL", Value: "postgres://db.shop.svc:5432/" + name}},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, Name: "http"}},
			}),
			&corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-config", Namespace: ns, Labels: labels},
				Data:       map[string]string{"settings.yaml": fmt.Sprintf("name: %s\nreplicas: 3\nfeatures: [a, b, c]\n%0512d\n", name, i)},
			},
			&discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-abcde", Namespace: ns,
					Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Endpoints: []discoveryv1.Endpoint{{
					Addresses:  []string{fmt.Sprintf("10.%d.%d.%d", 100+i/65536, i/256%256, i%256)},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
					NodeName:   ptr.To("node-1"),
					TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name + "-7d9f8b6c4-x2v9q"},
				}},
				Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
			})
	}
	return cl.createAll(ctx, objs)
}
