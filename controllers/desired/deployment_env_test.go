package desired

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

type envVar = map[string]any

func literalVar(name, value string) envVar { return envVar{"name": name, "value": value} }

// listFromConfigMap is TRUSTED_PROXIES read from the proxy's ConfigMap, so
// that a list change needs no change of the Deployment's env.
var listFromConfigMap = envVar{
	"name": EnvTrustedProxies,
	"valueFrom": map[string]any{"configMapKeyRef": map[string]any{
		"name": "posthog-trusted-proxies",
		"key":  TrustedProxiesKey,
	}},
}

var (
	trustPolicies = []proxyv1.TrustPolicy{proxyv1.TrustListed, proxyv1.TrustAll, ""}
	hostPolicies  = []proxyv1.AllowedHostsPolicy{proxyv1.AllowedHostsFromHosts, proxyv1.AllowedHostsUnmanaged, ""}
	terminations  = []proxyv1.TLSTermination{proxyv1.TLSAtIngress, proxyv1.TLSAtLoadBalancer, proxyv1.TLSNone}
)

func envProxy(termination proxyv1.TLSTermination, policy proxyv1.TrustPolicy, hosts proxyv1.AllowedHostsPolicy) *proxyv1.PostHogProxy {
	proxy := newProxy()
	proxy.Spec.Hosts = []proxyv1.Hostname{"posthog.example.com", "app.example.com"}
	proxy.Spec.TLS = proxyv1.TLS{Termination: termination}
	if termination == proxyv1.TLSAtIngress {
		proxy.Spec.TLS.SecretName = "posthog-tls"
	}
	proxy.Spec.TrustedProxies.Policy = policy
	if policy == proxyv1.TrustAll {
		proxy.Spec.TrustedProxies.Addresses = nil
	}
	proxy.Spec.AllowedHosts = hosts
	return proxy
}

// TestEnv checks every combination of the three settings against the exact
// variables, in order: the pod template must not change while the spec does
// not, so the order is part of the contract.
func TestEnv(t *testing.T) {
	byPolicy := map[proxyv1.TrustPolicy][]envVar{
		proxyv1.TrustListed: {listFromConfigMap},
		proxyv1.TrustAll:    {literalVar(EnvTrustAllProxies, "true")},
		"":                  {listFromConfigMap}, // not defaulted: List
	}
	byHosts := map[proxyv1.AllowedHostsPolicy][]envVar{
		proxyv1.AllowedHostsFromHosts: {literalVar(EnvAllowedHosts, "posthog.example.com,app.example.com")},
		proxyv1.AllowedHostsUnmanaged: nil,
		"":                            {literalVar(EnvAllowedHosts, "posthog.example.com,app.example.com")},
	}
	// SITE_URL: the first host, with the scheme users see.
	bySiteURL := map[proxyv1.TLSTermination][]envVar{
		proxyv1.TLSAtIngress:      {literalVar(EnvSiteURL, "https://posthog.example.com")},
		proxyv1.TLSAtLoadBalancer: {literalVar(EnvSiteURL, "https://posthog.example.com")},
		proxyv1.TLSNone:           {literalVar(EnvSiteURL, "http://posthog.example.com")},
	}
	byTermination := map[proxyv1.TLSTermination][]envVar{
		proxyv1.TLSAtIngress:      nil,
		proxyv1.TLSAtLoadBalancer: {literalVar(EnvDisableSecureSSLRedirect, "true")},
		proxyv1.TLSNone:           {literalVar(EnvDisableSecureSSLRedirect, "true"), literalVar(EnvSecureCookies, "false")},
	}
	for _, termination := range terminations {
		for _, policy := range trustPolicies {
			for _, hosts := range hostPolicies {
				name := "tls=" + string(termination) + "/trust=" + string(policy) + "/allowedHosts=" + string(hosts)
				t.Run(name, func(t *testing.T) {
					want := []envVar{literalVar(EnvIsBehindProxy, "true")}
					want = append(want, byPolicy[policy]...)
					want = append(want, byHosts[hosts]...)
					want = append(want, bySiteURL[termination]...)
					want = append(want, byTermination[termination]...)
					wantJSON, _ := json.Marshal(want)

					assertJSON(t, Env(envProxy(termination, policy, hosts)), string(wantJSON))
				})
			}
		}
	}
}

// TestEnvTrustAllOnlyWhenAsked guards the rule behind OwnedEnvNames: PostHog
// treats any non-empty TRUST_ALL_PROXIES as on, so a "false" would trust
// every proxy.
func TestEnvTrustAllOnlyWhenAsked(t *testing.T) {
	for _, termination := range terminations {
		for _, policy := range trustPolicies {
			for _, hosts := range hostPolicies {
				env := Env(envProxy(termination, policy, hosts))
				var names []string
				trustAll := ""
				for _, e := range env {
					names = append(names, *e.Name)
					if *e.Name == EnvTrustAllProxies {
						trustAll = *e.Value
					}
				}
				switch {
				case policy == proxyv1.TrustAll && trustAll != "true":
					t.Errorf("%s/%s/%s: TRUST_ALL_PROXIES = %q, want \"true\"", termination, policy, hosts, trustAll)
				case policy != proxyv1.TrustAll && slices.Contains(names, EnvTrustAllProxies):
					t.Errorf("%s/%q/%s: TRUST_ALL_PROXIES is set to %q, want it absent", termination, policy, hosts, trustAll)
				}
				for _, n := range names {
					// The operator takes back only the names it knows as its own.
					if !slices.Contains(OwnedEnvNames, n) {
						t.Errorf("%s/%s/%s: %s is not in OwnedEnvNames", termination, policy, hosts, n)
					}
				}
			}
		}
	}
}

func TestConfigHash(t *testing.T) {
	base := newProxy()
	withOtherHosts := newProxy()
	withOtherHosts.Spec.Hosts = []proxyv1.Hostname{"analytics.example.com"}
	withoutTLS := newProxy()
	withoutTLS.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSNone}

	tests := []struct {
		name           string
		proxyA, proxyB *proxyv1.PostHogProxy
		addrsA, addrsB []string
		wantSame       bool
	}{
		{
			name:   "same input, same hash",
			proxyA: base, proxyB: newProxy(),
			addrsA: []string{"10.0.0.7", "10.0.0.8"}, addrsB: []string{"10.0.0.7", "10.0.0.8"},
			wantSame: true,
		},
		{
			// Pods would otherwise keep a list they read at start forever.
			name:   "changed list content, same env: different hash",
			proxyA: base, proxyB: base,
			addrsA: []string{"10.0.0.7", "10.0.0.8"}, addrsB: []string{"10.0.0.7", "10.0.0.9"},
		},
		{
			name:   "same list written in another order: same hash",
			proxyA: base, proxyB: base,
			addrsA: []string{"10.0.0.7", "10.0.0.8"}, addrsB: []string{"10.0.0.8", "10.0.0.7", "10.0.0.8"},
			wantSame: true,
		},
		{
			name:   "changed ALLOWED_HOSTS value: different hash",
			proxyA: base, proxyB: withOtherHosts,
			addrsA: []string{"10.0.0.7"}, addrsB: []string{"10.0.0.7"},
		},
		{
			name:   "extra variables for plain HTTP: different hash",
			proxyA: base, proxyB: withoutTLS,
			addrsA: []string{"10.0.0.7"}, addrsB: []string{"10.0.0.7"},
		},
	}
	digest := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ConfigHash(Env(tt.proxyA), mustList(t, tt.addrsA...).Hash())
			b := ConfigHash(Env(tt.proxyB), mustList(t, tt.addrsB...).Hash())
			if !digest.MatchString(a) || !digest.MatchString(b) {
				t.Fatalf("hashes %q and %q are not sha256 digests", a, b)
			}
			if (a == b) != tt.wantSame {
				t.Errorf("hashes %s and %s: same = %v, want %v", a, b, a == b, tt.wantSame)
			}
		})
	}
}

func TestDeploymentPatch(t *testing.T) {
	trustAllWithoutTLS := newProxy()
	trustAllWithoutTLS.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSNone}
	trustAllWithoutTLS.Spec.TrustedProxies = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll}

	tests := []struct {
		name       string
		proxy      *proxyv1.PostHogProxy
		addresses  []string
		containers []string
		wantEnv    string
	}{
		{
			name:       "one container, listed proxies",
			proxy:      newProxy(),
			addresses:  []string{"10.0.0.7", "10.0.0.8"},
			containers: []string{"web"},
			wantEnv: `[
				{"name": "IS_BEHIND_PROXY", "value": "true"},
				{"name": "TRUSTED_PROXIES", "valueFrom": {"configMapKeyRef": {"name": "posthog-trusted-proxies", "key": "TRUSTED_PROXIES"}}},
				{"name": "ALLOWED_HOSTS", "value": "posthog.example.com"},
				{"name": "SITE_URL", "value": "https://posthog.example.com"}
			]`,
		},
		{
			name:       "two containers, trust all, no TLS",
			proxy:      trustAllWithoutTLS,
			containers: []string{"web", "web-canary"},
			wantEnv: `[
				{"name": "IS_BEHIND_PROXY", "value": "true"},
				{"name": "TRUST_ALL_PROXIES", "value": "true"},
				{"name": "ALLOWED_HOSTS", "value": "posthog.example.com"},
				{"name": "SITE_URL", "value": "http://posthog.example.com"},
				{"name": "DISABLE_SECURE_SSL_REDIRECT", "value": "true"},
				{"name": "SECURE_COOKIES", "value": "false"}
			]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := mustList(t, tt.addresses...)

			got := DeploymentPatch(tt.proxy, "posthog-web", tt.containers, list.Hash(), nil)

			var containers []string
			for _, c := range tt.containers {
				containers = append(containers, `{"name": `+jsonString(c)+`, "env": `+tt.wantEnv+`}`)
			}
			// Anything beyond these fields would be taken over from the
			// Deployment's owner by server-side apply.
			assertJSON(t, got, `{
				"kind": "Deployment",
				"apiVersion": "apps/v1",
				"metadata": {
					"name": "posthog-web",
					"namespace": "analytics",
					"annotations": {"proxy.posthog-operator.io/patched-by": "posthog"}
				},
				"spec": {"template": {
					"metadata": {"annotations": {
						"proxy.posthog-operator.io/config-hash": `+jsonString(ConfigHash(Env(tt.proxy), list.Hash()))+`
					}},
					"spec": {"containers": [`+strings.Join(containers, ",")+`]}
				}}
			}`)
		})
	}
}

// TestReleasePatch: applying the bare identity drops every field the
// operator's manager owned; any other field would stay owned.
func TestReleasePatch(t *testing.T) {
	assertJSON(t, ReleasePatch("analytics", "posthog-web"), `{
		"kind": "Deployment",
		"apiVersion": "apps/v1",
		"metadata": {"name": "posthog-web", "namespace": "analytics"}
	}`)
}

func TestEnvSiteURLUnmanaged(t *testing.T) {
	proxy := envProxy(proxyv1.TLSAtIngress, proxyv1.TrustListed, proxyv1.AllowedHostsFromHosts)
	proxy.Spec.SiteURL = proxyv1.SiteURLUnmanaged
	for _, e := range Env(proxy) {
		if *e.Name == EnvSiteURL {
			t.Errorf("SITE_URL set with siteURL Unmanaged: %s", *e.Value)
		}
	}
}
