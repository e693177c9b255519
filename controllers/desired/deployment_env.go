package desired

import (
	"fmt"
	"strings"

	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// The variables PostHog reads behind a proxy.
const (
	EnvIsBehindProxy            = "IS_BEHIND_PROXY"
	EnvTrustedProxies           = "TRUSTED_PROXIES"
	EnvTrustAllProxies          = "TRUST_ALL_PROXIES"
	EnvAllowedHosts             = "ALLOWED_HOSTS"
	EnvDisableSecureSSLRedirect = "DISABLE_SECURE_SSL_REDIRECT"
	EnvSecureCookies            = "SECURE_COOKIES"
	EnvSiteURL                  = "SITE_URL"
)

// OwnedEnvNames are every variable the operator may set. A variable it does
// not set in the current configuration is absent, never set to a
// false-looking value: PostHog treats any non-empty TRUST_ALL_PROXIES as on.
var OwnedEnvNames = []string{
	EnvIsBehindProxy, EnvTrustedProxies, EnvTrustAllProxies,
	EnvAllowedHosts, EnvDisableSecureSSLRedirect, EnvSecureCookies, EnvSiteURL,
}

// Env is the list of variables for a PostHogProxy, in a stable order.
func Env(proxy *proxyv1.PostHogProxy) []*corev1ac.EnvVarApplyConfiguration {
	spec := proxy.Spec
	env := []*corev1ac.EnvVarApplyConfiguration{literal(EnvIsBehindProxy, "true")}

	switch policy(proxy) {
	case proxyv1.TrustAll:
		env = append(env, literal(EnvTrustAllProxies, "true"))
	default:
		env = append(env, corev1ac.EnvVar().WithName(EnvTrustedProxies).WithValueFrom(
			corev1ac.EnvVarSource().WithConfigMapKeyRef(
				corev1ac.ConfigMapKeySelector().WithName(ConfigMapName(proxy)).WithKey(TrustedProxiesKey))))
	}

	if spec.AllowedHosts != proxyv1.AllowedHostsUnmanaged {
		hosts := make([]string, len(spec.Hosts))
		for i, h := range spec.Hosts {
			hosts[i] = string(h)
		}
		env = append(env, literal(EnvAllowedHosts, strings.Join(hosts, ",")))
	}
	if spec.SiteURL != proxyv1.SiteURLUnmanaged {
		env = append(env, literal(EnvSiteURL, URL(proxy)))
	}

	switch spec.TLS.Termination {
	case proxyv1.TLSAtLoadBalancer:
		// The load balancer speaks plain HTTP onward; PostHog's own redirect
		// to HTTPS would loop forever.
		env = append(env, literal(EnvDisableSecureSSLRedirect, "true"))
	case proxyv1.TLSNone:
		// Without TLS anywhere, Secure cookies never come back and nobody
		// can log in.
		env = append(env, literal(EnvDisableSecureSSLRedirect, "true"), literal(EnvSecureCookies, "false"))
	}
	return env
}

func literal(name, value string) *corev1ac.EnvVarApplyConfiguration {
	return corev1ac.EnvVar().WithName(name).WithValue(value)
}

// ConfigHash identifies the effective configuration a pod runs with: the
// variables and the hash of the trusted proxy list, which pods read through
// a ConfigMap reference and would otherwise never see change.
func ConfigHash(env []*corev1ac.EnvVarApplyConfiguration, listHash string) string {
	var b strings.Builder
	for _, e := range env {
		switch {
		case e.Value != nil:
			fmt.Fprintf(&b, "%s=%s\n", *e.Name, *e.Value)
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			fmt.Fprintf(&b, "%s<-configmap/%s/%s\n", *e.Name, *e.ValueFrom.ConfigMapKeyRef.Name, *e.ValueFrom.ConfigMapKeyRef.Key)
		}
	}
	fmt.Fprintf(&b, "list=%s\n", listHash)
	return trust.Hash(b.String())
}

// DeploymentPatch is the server-side apply patch for one target Deployment:
// only the identifying keys (name, container names, variable names) and the
// operator's own values, so that applying it never touches anyone else's
// fields, and applying the bare name takes all of it back.
// listHash is the hash of the list the pods are to run with (see
// PlanRollout).
// shared are the variables, per container, left to another writer (see
// SharedEnv).
func DeploymentPatch(proxy *proxyv1.PostHogProxy, deployment string, containers []string, listHash string, shared map[string]map[string]bool) *appsv1ac.DeploymentApplyConfiguration {
	env := Env(proxy)
	podSpec := corev1ac.PodSpec()
	for _, name := range containers {
		var own []*corev1ac.EnvVarApplyConfiguration
		for _, e := range env {
			if !shared[name][*e.Name] {
				own = append(own, e)
			}
		}
		podSpec.WithContainers(corev1ac.Container().WithName(name).WithEnv(own...))
	}
	return appsv1ac.Deployment(deployment, proxy.Namespace).
		WithAnnotations(map[string]string{PatchedByAnnotation: proxy.Name}).
		WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
			corev1ac.PodTemplateSpec().
				WithAnnotations(map[string]string{ConfigHashAnnotation: ConfigHash(env, listHash)}).
				WithSpec(podSpec)))
}

// ReleasePatch takes back everything the operator set on a Deployment:
// applying an object that holds only its name drops every field the
// operator's field manager owned and leaves all other fields as they are.
func ReleasePatch(namespace, deployment string) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment(deployment, namespace)
}
