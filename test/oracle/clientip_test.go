package oracle

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

const (
	client   = "203.0.113.5"
	attacker = "198.51.100.9"
	spoofed  = "6.6.6.6"
	lb       = "10.0.5.20"  // a cloud load balancer's private address
	cfEdge   = "104.16.5.5" // inside Cloudflare's 104.16.0.0/13
	ingressA = "10.42.0.15" // ingress controller pods
	ingressB = "10.42.1.23"
)

var ingressService = proxyv1.ServiceReference{Namespace: "ingress-nginx", Name: "ingress-nginx-controller"}

// through sends a request from a client, with the X-Forwarded-For it chose
// itself, through proxies that each append their peer, and returns what
// PostHog sees: its peer and the header.
func through(from, clientXFF string, proxies ...string) (peer, xff string) {
	hops := []string{}
	if clientXFF != "" {
		hops = append(hops, clientXFF)
	}
	peer = from
	for _, p := range proxies {
		hops = append(hops, peer)
		peer = p
	}
	return peer, strings.Join(hops, ", ")
}

// generated is the environment the operator gives the PostHog container for
// a spec, with TRUSTED_PROXIES resolved from the ConfigMap it publishes.
func generated(t *testing.T, proxy *proxyv1.PostHogProxy, ingressPods ...string) (map[string]string, desired.ProxyList) {
	t.Helper()
	presets, err := trust.BuiltInPresets()
	if err != nil {
		t.Fatal(err)
	}
	pods, err := trust.Parse(ingressPods)
	if err != nil {
		t.Fatal(err)
	}
	proxies := desired.TrustedProxyList(proxy, desired.ProxyInputs{
		Presets:  presets,
		Services: map[proxyv1.ServiceReference]desired.ServiceEndpoints{ingressService: {Found: true, Ready: pods}},
	})
	if proxies.Blocked != nil {
		t.Fatalf("list blocked: %s", proxies.Blocked.Message)
	}
	data := desired.ConfigMap(proxy, proxies).Data
	env := map[string]string{}
	for _, e := range desired.Env(proxy) {
		env[*e.Name] = resolve(t, e, data)
	}
	return env, proxies
}

func resolve(t *testing.T, e *corev1ac.EnvVarApplyConfiguration, configMap map[string]string) string {
	if e.Value != nil {
		return *e.Value
	}
	if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
		return configMap[*e.ValueFrom.ConfigMapKeyRef.Key]
	}
	t.Fatalf("variable %s has neither a value nor a ConfigMap reference", *e.Name)
	return ""
}

func spec(mutate func(*proxyv1.TrustedProxies)) *proxyv1.PostHogProxy {
	p := &proxyv1.PostHogProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "posthog", Namespace: "posthog"},
		Spec: proxyv1.PostHogProxySpec{
			Targets: []proxyv1.TargetDeployment{{Name: "posthog-web"}},
			Hosts:   []proxyv1.Hostname{"posthog.example.com"},
			TLS:     proxyv1.TLS{Termination: proxyv1.TLSAtIngress, SecretName: "posthog-tls"},
			TrustedProxies: proxyv1.TrustedProxies{
				Services: []proxyv1.ServiceReference{ingressService},
			},
		},
	}
	if mutate != nil {
		mutate(&p.Spec.TrustedProxies)
	}
	return p
}

func TestClientIPThroughEachTopology(t *testing.T) {
	directIngress := spec(nil)
	loadBalancer := spec(func(tp *proxyv1.TrustedProxies) {
		tp.Addresses = []proxyv1.AddressOrRange{lb, "10.0.6.20"}
	})
	cloudflare := spec(func(tp *proxyv1.TrustedProxies) {
		tp.Addresses = []proxyv1.AddressOrRange{lb}
		tp.Presets = []proxyv1.PresetName{"cloudflare"}
		tp.Matching = proxyv1.MatchNetwork
	})
	trustAll := spec(func(tp *proxyv1.TrustedProxies) { *tp = proxyv1.TrustedProxies{Policy: proxyv1.TrustAll} })

	type request struct{ peer, xff string }
	req := func(peer, xff string) request { return request{peer, xff} }
	tests := []struct {
		name     string
		proxy    *proxyv1.PostHogProxy
		matching Matching
		request  request
		want     string // "" means PostHog finds no client and refuses it under ALLOWED_IP_BLOCKS
	}{
		{"direct ingress: the real client", directIngress, Exact, req(through(client, "", ingressA)), client},
		{"direct ingress: the other controller pod", directIngress, Exact, req(through(client, "", ingressB)), client},
		{"direct ingress: a spoofed header through the ingress is not believed", directIngress, Exact,
			req(through(client, spoofed, ingressA)), ""},
		{"direct ingress: a spoofed header straight to PostHog is not believed", directIngress, Exact,
			req(through(attacker, spoofed)), ""},
		{"direct ingress: no header straight to PostHog is the peer", directIngress, Exact, req(attacker, ""), attacker},
		{"direct ingress: an unknown pod (not yet discovered) is not trusted", directIngress, Exact,
			req(through(client, "", "10.42.9.9")), ""},

		{"load balancer → ingress: the real client", loadBalancer, Exact, req(through(client, "", lb, ingressA)), client},
		{"load balancer → ingress: a spoofed header is not believed", loadBalancer, Exact,
			req(through(client, spoofed, lb, ingressA)), ""},
		{"load balancer → ingress: bypassing the load balancer is not believed", loadBalancer, Exact,
			req(through(attacker, spoofed, ingressA)), ""},

		{"Cloudflare → load balancer → ingress: the real client", cloudflare, Network,
			req(through(client, "", cfEdge, lb, ingressA)), client},
		{"Cloudflare → load balancer → ingress: a spoofed header is not believed", cloudflare, Network,
			req(through(client, spoofed, cfEdge, lb, ingressA)), ""},
		{"Cloudflare → load balancer → ingress: bypassing Cloudflare is not believed", cloudflare, Network,
			req(through(attacker, spoofed, lb, ingressA)), ""},
		{"Cloudflare ranges on a PostHog that matches exact strings find no client", cloudflare, Exact,
			req(through(client, "", cfEdge, lb, ingressA)), ""},

		{"trust all: the real client", trustAll, Exact, req(through(client, "", ingressA)), client},
		{"trust all: a spoofed header is believed — why it is flagged insecure", trustAll, Exact,
			req(through(attacker, spoofed)), spoofed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := generated(t, tt.proxy, ingressA, ingressB)
			got, ok := ClientIP(FromEnv(env, tt.matching), tt.request.peer, tt.request.xff)
			if !ok {
				got = ""
			}
			if got != tt.want {
				t.Errorf("client = %q, want %q (peer %s, X-Forwarded-For %q, TRUSTED_PROXIES %q)",
					got, tt.want, tt.request.peer, tt.request.xff, env["TRUSTED_PROXIES"])
			}
		})
	}
}

// The operator says so when the list cannot work as PostHog compares it:
// the same Cloudflare spec under Exact matching.
func TestOperatorFlagsWhatTheOracleRefuses(t *testing.T) {
	exact := spec(func(tp *proxyv1.TrustedProxies) {
		tp.Presets = []proxyv1.PresetName{"cloudflare"}
		tp.Matching = proxyv1.MatchExact
	})
	_, proxies := generated(t, exact, ingressA)
	if proxies.Unmatchable == nil || proxies.Unmatchable.Reason != proxyv1.ReasonUnmatchableEntries {
		t.Fatalf("Unmatchable = %+v, want UnmatchableEntries", proxies.Unmatchable)
	}
	network := spec(func(tp *proxyv1.TrustedProxies) {
		tp.Presets = []proxyv1.PresetName{"cloudflare"}
		tp.Matching = proxyv1.MatchNetwork
	})
	if _, proxies := generated(t, network, ingressA); proxies.Unmatchable != nil {
		t.Errorf("Network matching flagged: %s", proxies.Unmatchable.Message)
	}
}

// The oracle itself follows PostHog's reading of its variables.
func TestFromEnvReadsLikePostHog(t *testing.T) {
	for value, want := range map[string]bool{"False": true, "0": true, "no": true, "true": true, "": false} {
		if got := FromEnv(map[string]string{"TRUST_ALL_PROXIES": value}, Exact).TrustAll; got != want {
			t.Errorf("TRUST_ALL_PROXIES=%q: trust all = %v, want %v", value, got, want)
		}
	}
	for value, want := range map[string]bool{"TRUE": true, "1": true, "yes": true, "on": true, "t": true, "Y": true, "false": false, "0": false, "": false} {
		if got := FromEnv(map[string]string{"IS_BEHIND_PROXY": value}, Exact).BehindProxy; got != want {
			t.Errorf("IS_BEHIND_PROXY=%q: behind proxy = %v, want %v", value, got, want)
		}
	}
	s := FromEnv(map[string]string{"IS_BEHIND_PROXY": "true", "TRUSTED_PROXIES": " 10.0.0.1 , ,10.0.0.2"}, Exact)
	if strings.Join(s.TrustedProxies, ",") != "10.0.0.1,10.0.0.2" {
		t.Errorf("TRUSTED_PROXIES entries = %q", s.TrustedProxies)
	}
	if _, ok := ClientIP(Settings{BehindProxy: true, TrustedProxies: []string{"10.0.0.0/8"}}, "10.1.2.3", client); ok {
		t.Error("exact matching matched 10.1.2.3 against 10.0.0.0/8")
	}
}
