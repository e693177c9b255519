package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// cluster is the local control plane the benchmarks run on, with a client
// for fixtures that is not rate limited: setting up must not be what is
// measured.
type cluster struct {
	env        *envtest.Environment
	config     *rest.Config
	kubeconfig string
	scheme     *runtime.Scheme
	c          client.WithWatch
	clientset  kubernetes.Interface
}

func startCluster(work string) (*cluster, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make bench`, which builds the local control plane")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join("config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 90 * time.Second,
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cl := &cluster{env: env, scheme: runtime.NewScheme()}
	if err := cl.init(work); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cl, nil
}

func (cl *cluster) init(work string) error {
	if err := clientgoscheme.AddToScheme(cl.scheme); err != nil {
		return err
	}
	if err := proxyv1.AddToScheme(cl.scheme); err != nil {
		return err
	}
	admin, err := cl.env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return err
	}
	cl.kubeconfig = filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(cl.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	cl.config = rest.CopyConfig(admin.Config())
	fast := rest.CopyConfig(cl.config)
	fast.QPS, fast.Burst = 5000, 10000
	if cl.c, err = client.NewWithWatch(fast, client.Options{Scheme: cl.scheme}); err != nil {
		return err
	}
	cl.clientset, err = kubernetes.NewForConfig(fast)
	return err
}

func (cl *cluster) stop() { _ = cl.env.Stop() }

// limitedClient is a plain client with the manager's rate limit: like the
// manager's, it limits each kind of object on its own.
func (cl *cluster) limitedClient(qps float32, burst int) (client.Client, error) {
	config := rest.CopyConfig(cl.config)
	config.QPS, config.Burst = qps, burst
	return client.New(config, client.Options{Scheme: cl.scheme})
}

// createAll creates objects with a few workers; an object that exists
// already is fine.
func (cl *cluster) createAll(ctx context.Context, objs []client.Object) error {
	return cl.forEach(objs, func(obj client.Object) error {
		if err := cl.c.Create(ctx, obj); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
		return nil
	})
}

// forEach calls do for every object with a few workers, as fast as the API
// server takes them, and returns the first error.
func (cl *cluster) forEach(objs []client.Object, do func(client.Object) error) error {
	work := make(chan client.Object)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for obj := range work {
				if err := do(obj); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, obj := range objs {
		work <- obj
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// createTimed creates PostHogProxies like createAll and says when each
// create was sent.
func (cl *cluster) createTimed(ctx context.Context, proxies []*proxyv1.PostHogProxy) (map[string]time.Time, error) {
	var mu sync.Mutex
	sent := make(map[string]time.Time, len(proxies))
	objs := make([]client.Object, len(proxies))
	for i, p := range proxies {
		objs[i] = p
	}
	err := cl.forEach(objs, func(obj client.Object) error {
		mu.Lock()
		sent[obj.GetName()] = time.Now()
		mu.Unlock()
		return cl.c.Create(ctx, obj)
	})
	return sent, err
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// postHogWeb is a PostHog web Deployment as its chart would make it.
func postHogWeb(ns, name string) *appsv1.Deployment {
	return deployment(ns, name, map[string]string{"app": name}, corev1.Container{
		Name: "web", Image: "posthog/posthog:1.43.0",
		Env: []corev1.EnvVar{{Name: "DEPLOYMENT", Value: "hobby"}, {Name: "SECRET_KEY", Value: "not-a-secret"}},
	})
}

// deployment runs one container, its pods labelled and selected by labels.
func deployment(ns, name string, labels map[string]string, container corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{container}},
			},
		},
	}
}

// postHogProxy puts one PostHog web Deployment behind an ingress
// controller with two trusted addresses.
func postHogProxy(ns, name, target, host string) *proxyv1.PostHogProxy {
	return &proxyv1.PostHogProxy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: proxyv1.PostHogProxySpec{
			Targets: []proxyv1.TargetDeployment{{Name: target}},
			Hosts:   []proxyv1.Hostname{proxyv1.Hostname(host)},
			TLS:     proxyv1.TLS{Termination: proxyv1.TLSAtLoadBalancer},
			TrustedProxies: proxyv1.TrustedProxies{
				Addresses: []proxyv1.AddressOrRange{"10.0.0.7", "10.0.0.8"},
			},
			Ingress: proxyv1.IngressSpec{
				ClassName: "nginx",
				Service:   proxyv1.BackendService{Name: target, Port: proxyv1.BackendPort{Number: 8000}},
			},
		},
	}
}

// fleet is n PostHog Deployments in a namespace, and the PostHogProxies
// that would put each behind the ingress controller.
func fleet(ns string, n int) (deployments []client.Object, proxies []*proxyv1.PostHogProxy) {
	for i := range n {
		name := fmt.Sprintf("posthog-%d", i)
		deployments = append(deployments, postHogWeb(ns, name+"-web"))
		proxies = append(proxies, postHogProxy(ns, name, name+"-web", fmt.Sprintf("%s.%s.example.com", name, ns)))
	}
	return deployments, proxies
}

// apiserverWrites are the write requests the API server has served, by
// resource, from its own metrics; leases (leader election, the API
// server's own heartbeat) are left out.
func (cl *cluster) apiserverWrites(ctx context.Context) (map[string]float64, error) {
	data, err := cl.clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		verb, resource, sub := label(line, "verb"), label(line, "resource"), label(line, "subresource")
		if !isWrite(verb) || resource == "leases" {
			continue
		}
		if sub != "" {
			resource += "/" + sub
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return nil, err
		}
		out[resource] += v
	}
	return out, scanner.Err()
}

// settledWrites waits until the API server has served no write (leases
// aside) for quiet, and returns its counts.
func (cl *cluster) settledWrites(ctx context.Context, quiet time.Duration) (map[string]float64, error) {
	var last map[string]float64
	since := time.Now()
	deadline := since.Add(2 * time.Minute)
	for {
		now, err := cl.apiserverWrites(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case !maps.Equal(now, last):
			last, since = now, time.Now()
		case time.Since(since) >= quiet:
			return now, nil
		case time.Now().After(deadline):
			return nil, fmt.Errorf("writes did not stop for %s in 2 minutes", quiet)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func isWrite(verb string) bool {
	switch verb {
	case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION", "CREATE", "UPDATE":
		return true
	}
	return false
}

// label reads one label's value from a Prometheus text line.
func label(line, name string) string {
	for _, prefix := range []string{"{", ","} {
		if _, rest, ok := strings.Cut(line, prefix+name+`="`); ok {
			value, _, _ := strings.Cut(rest, `"`)
			return value
		}
	}
	return ""
}
