package chain

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/test/harness"
	"github.com/posthog-operator/posthog-proxy-operator/test/oracle"
)

const (
	postHogNS     = "posthog"
	ingressNS     = "ingress"
	postHogHost   = "posthog.chain.test"
	webContainer  = "web"
	publicClass   = "traefik"
	internalClass = "traefik-internal"
	proxyName     = "posthog"
	// tlsSecret holds the certificate for the ingress controller.
	tlsSecret = "posthog-tls"

	// Clients bind their own loopback addresses. ALLOWED_IP_BLOCKS admits
	// the first and not the second; the forged address is inside the
	// blocks, so believing it would change the outcome.
	allowedClient = "127.0.0.100"
	otherClient   = "127.0.0.200"
	allowedBlocks = "127.0.0.64/26"
	forgedClient  = "127.0.0.77"

	// The outer proxies listen on addresses of their own. NGINX also sends
	// from its own (proxy_bind); Apache's mod_proxy cannot choose, so the
	// next hop sees it as 127.0.0.1, which nothing else in a chain uses.
	nginxAddr    = "127.0.0.2"
	apacheAddr   = "127.0.0.3"
	apacheSource = "127.0.0.1"
)

// createCluster makes what a cluster with PostHog and Traefik holds: the
// PostHog web Deployment (with the user's own ALLOWED_IP_BLOCKS), its
// Service and endpoints in the backend's namespace, and Traefik's Service
// whose endpoint is the address Traefik reaches PostHog from.
func createCluster(ctx context.Context) error {
	labels := map[string]string{"app": "posthog"}
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: postHogNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ingressNS}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: publicClass}, Spec: networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: internalClass}, Spec: networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"}},
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "posthog-web", Namespace: postHogNS},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: webContainer, Image: "posthog/posthog:latest",
						Env: []corev1.EnvVar{{Name: "ALLOWED_IP_BLOCKS", Value: allowedBlocks}},
					}}},
				},
			},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: tlsSecret, Namespace: postHogNS},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: certs.certPEM, corev1.TLSPrivateKeyKey: certs.keyPEM},
		},
		service(postHogNS, "posthog-web", "http", 8000),
		endpoints(postHogNS, "posthog-web", backendAddr, "http", 8000),
		service(ingressNS, "traefik", "web", 80),
		endpoints(ingressNS, "traefik", hostSide, "web", 8000),
	}
	for _, obj := range objects {
		if err := k8s.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	return nil
}

func service(namespace, name, port string, number int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: port, Port: number}}},
	}
}

func endpoints(namespace, service, address, port string, number int32) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-1", Namespace: namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{address},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To(port), Port: ptr.To(number)}},
	}
}

// baseSpec is PostHog behind Traefik with every outer hop trusted: the
// static addresses of NGINX and Apache, and Traefik discovered from its
// Service.
func baseSpec() proxyv1.PostHogProxySpec {
	return proxyv1.PostHogProxySpec{
		Targets: []proxyv1.TargetDeployment{{Name: "posthog-web"}},
		Hosts:   []proxyv1.Hostname{postHogHost},
		TLS:     proxyv1.TLS{Termination: proxyv1.TLSNone},
		TrustedProxies: proxyv1.TrustedProxies{
			Addresses: []proxyv1.AddressOrRange{apacheSource, nginxAddr},
			Services:  []proxyv1.ServiceReference{{Namespace: ingressNS, Name: "traefik"}},
			Rollout:   proxyv1.RolloutPolicy{Window: &metav1.Duration{}},
		},
		Ingress: proxyv1.IngressSpec{
			ClassName:  publicClass,
			Controller: proxyv1.ControllerTraefik,
			Service:    proxyv1.BackendService{Name: "posthog-web", Port: proxyv1.BackendPort{Name: "http"}},
		},
	}
}

// applyProxy sets the PostHogProxy's spec to the base one changed by
// change, waits for the operator to apply it, and starts PostHog again with
// the environment its Deployment now holds. It returns the resource.
func applyProxy(t *testing.T, change func(*proxyv1.PostHogProxySpec)) *proxyv1.PostHogProxy {
	t.Helper()
	ctx := context.Background()
	spec := baseSpec()
	if change != nil {
		change(&spec)
	}
	proxy := &proxyv1.PostHogProxy{}
	err := k8s.Get(ctx, client.ObjectKey{Namespace: postHogNS, Name: proxyName}, proxy)
	switch {
	case apierrors.IsNotFound(err):
		proxy = &proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Name: proxyName, Namespace: postHogNS}, Spec: spec}
		err = k8s.Create(ctx, proxy)
	case err == nil:
		proxy.Spec = spec
		err = k8s.Update(ctx, proxy)
	}
	if err != nil {
		t.Fatalf("applying the PostHogProxy: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(proxy), proxy); err != nil {
			t.Fatal(err)
		}
		if proxy.Status.ObservedGeneration == proxy.Generation && meta.IsStatusConditionTrue(proxy.Status.Conditions, proxyv1.ConditionReady) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the PostHogProxy is not Ready for generation %d: %+v", proxy.Generation, proxy.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: postHogNS, Name: "posthog-web"}, d); err != nil {
		t.Fatal(err)
	}
	env, err := harness.PodEnv(ctx, k8s, d, webContainer)
	if err != nil {
		t.Fatal(err)
	}
	posthog.set(oracle.FromEnv(env, oracle.Exact))
	return proxy
}
