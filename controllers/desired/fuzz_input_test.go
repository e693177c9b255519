package desired_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Enum values are picked by index from what the API admits; "" leaves the
// field out, for the schema default.
var (
	policies     = []string{"", string(proxyv1.TrustListed), string(proxyv1.TrustAll)}
	matchings    = []string{"", string(proxyv1.MatchExact), string(proxyv1.MatchNetwork)}
	terminations = []string{string(proxyv1.TLSAtIngress), string(proxyv1.TLSAtLoadBalancer), string(proxyv1.TLSNone)}
	controllers  = []string{"", "nginx", "traefik", "haproxy", "alb", "gce", "generic"}
	exposures    = []string{"", string(proxyv1.ExposeAll), string(proxyv1.ExposePublicOnly), string(proxyv1.ExposeSplit)}
	allowedHosts = []string{"", string(proxyv1.AllowedHostsFromHosts), string(proxyv1.AllowedHostsUnmanaged)}
	siteURLs     = []string{"", string(proxyv1.SiteURLFromPrimaryHost), string(proxyv1.SiteURLUnmanaged)}
	issuerKinds  = []string{"-", "", "ClusterIssuer", "Issuer"}
	bodySizes    = []string{"", "25Mi", "2Mi", "1Gi", "1M", "1500k", "1Mi"}
	windows      = []string{"", "0s", "30s", "1h"}
	graces       = []string{"", "0s", "1s", "5m", "24h"}
	laters       = []time.Duration{time.Second, time.Minute, 10 * time.Minute, 25 * time.Hour}
)

// choiceRadices are the number of values of each choice a fuzzInput's
// choice number holds, in the order object and later take them.
var choiceRadices = []int{len(policies), len(matchings), len(terminations), len(controllers), len(exposures),
	len(allowedHosts), len(siteURLs), len(issuerKinds), len(bodySizes), len(windows), len(graces), 2, 65535, len(laters)}

// choices packs one index per choice into a choice number, for seeds.
func choices(idx ...int) uint64 {
	var v uint64
	for i := len(choiceRadices) - 1; i >= 0; i-- {
		x := 0
		if i < len(idx) {
			x = idx[i]
		}
		v = v*uint64(choiceRadices[i]) + uint64(x)
	}
	return v
}

// later is how long after the first reconcile the second one runs.
func (in fuzzInput) later() int {
	p := &picker{in.choice}
	for _, n := range choiceRadices[:len(choiceRadices)-1] {
		p.n(n)
	}
	return p.n(len(laters))
}

// fuzzInput is what one fuzz call draws. Lists are comma-separated.
type fuzzInput struct {
	name, hosts, addresses, paths, services, endpoints, words string
	choice                                                    uint64
}

// picker takes enum choices from one number.
type picker struct{ v uint64 }

func (p *picker) pick(values []string) string {
	n := uint64(len(values))
	s := values[p.v%n]
	p.v /= n
	return s
}

func (p *picker) n(n int) int {
	v := int(p.v % uint64(n))
	p.v /= uint64(n)
	return v
}

func list(s string) []any {
	var out []any
	if s == "" {
		return nil
	}
	for _, x := range strings.Split(s, ",") {
		out = append(out, x)
	}
	return out
}

func setIf(m map[string]any, key string, v any) {
	switch v := v.(type) {
	case string:
		if v != "" {
			m[key] = v
		}
	case []any:
		if len(v) > 0 {
			m[key] = v
		}
	default:
		m[key] = v
	}
}

// object is the PostHogProxy of a fuzz input, as the API server decodes it.
// Fields a choice makes meaningless (sources with TrustAll, TLS settings
// without termination Ingress, private without Split) are left out, so that
// more inputs get past admission.
//
// words are, separated by '|': className, private className, TLS secret
// name, cert-manager issuer, backend Service name, backend port name,
// private source ranges, presets, targets (deployment[:container
// container...],...) and annotations (key=value;...).
func (in fuzzInput) object() map[string]any {
	w := strings.Split(in.words, "|")
	word := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	p := &picker{in.choice}
	policy, matching, termination := p.pick(policies), p.pick(matchings), p.pick(terminations)
	controller, exposure := p.pick(controllers), p.pick(exposures)
	allowed, siteURL, issuerKind := p.pick(allowedHosts), p.pick(siteURLs), p.pick(issuerKinds)
	bodySize, window, grace := p.pick(bodySizes), p.pick(windows), p.pick(graces)
	byName, number := p.n(2) == 1, 1+int64(p.n(65535))

	var targets []any
	for _, t := range strings.Split(word(8), ",") {
		name, containers, _ := strings.Cut(t, ":")
		target := map[string]any{"name": name}
		if containers != "" {
			target["containers"] = list(strings.ReplaceAll(containers, " ", ","))
		}
		targets = append(targets, target)
	}
	tls := map[string]any{"termination": termination}
	if termination == string(proxyv1.TLSAtIngress) {
		setIf(tls, "secretName", word(2))
		if issuerKind != "-" {
			issuer := map[string]any{"name": word(3)}
			setIf(issuer, "kind", issuerKind)
			tls["certManager"] = issuer
		}
	}
	trusted := map[string]any{}
	setIf(trusted, "policy", policy)
	setIf(trusted, "matching", matching)
	if policy != string(proxyv1.TrustAll) {
		setIf(trusted, "addresses", list(in.addresses))
		setIf(trusted, "presets", list(word(7)))
		var services []any
		for _, s := range list(in.services) {
			ns, name, _ := strings.Cut(s.(string), "/")
			services = append(services, map[string]any{"namespace": ns, "name": name})
		}
		setIf(trusted, "services", services)
	}
	rollout := map[string]any{}
	setIf(rollout, "window", window)
	setIf(rollout, "grace", grace)
	trusted["rollout"] = rollout

	port := map[string]any{"number": number}
	if byName && word(5) != "" {
		port = map[string]any{"name": word(5)}
	}
	ingress := map[string]any{"service": map[string]any{"name": word(4), "port": port}}
	setIf(ingress, "className", word(0))
	setIf(ingress, "controller", controller)
	setIf(ingress, "exposure", exposure)
	setIf(ingress, "publicPaths", list(in.paths))
	setIf(ingress, "maxBodySize", bodySize)
	if exposure == string(proxyv1.ExposeSplit) {
		private := map[string]any{}
		setIf(private, "className", word(1))
		setIf(private, "sourceRanges", list(word(6)))
		ingress["private"] = private
	}
	if a := word(9); a != "" {
		annotations := map[string]any{}
		for _, kv := range strings.Split(a, ";") {
			k, v, _ := strings.Cut(kv, "=")
			annotations[k] = v
		}
		ingress["annotations"] = annotations
	}
	spec := map[string]any{"targets": targets, "tls": tls, "trustedProxies": trusted, "ingress": ingress}
	setIf(spec, "hosts", list(in.hosts))
	setIf(spec, "allowedHosts", allowed)
	setIf(spec, "siteURL", siteURL)
	return map[string]any{
		"apiVersion": proxyv1.GroupVersion.String(),
		"kind":       "PostHogProxy",
		"metadata":   map[string]any{"name": in.name, "namespace": "analytics"},
		"spec":       spec,
	}
}

// endpointsOf are the ready addresses each Service gives in the first and
// the second reconcile: endpoints holds, per Service and separated by ';',
// "before>now" address lists; a leading '!' means the Service does not
// exist.
func endpointsOf(proxy *proxyv1.PostHogProxy, endpoints string) (before, now map[proxyv1.ServiceReference]desired.ServiceEndpoints) {
	parts := strings.Split(endpoints, ";")
	before, now = map[proxyv1.ServiceReference]desired.ServiceEndpoints{}, map[proxyv1.ServiceReference]desired.ServiceEndpoints{}
	ready := func(addrs string) []trust.Entry {
		slice := discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4}
		for _, a := range strings.Split(addrs, ",") {
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}})
		}
		return trust.ReadyAddresses([]discoveryv1.EndpointSlice{slice})
	}
	for i, ref := range proxy.Spec.TrustedProxies.Services {
		part := ""
		if i < len(parts) {
			part = parts[i]
		}
		missing := strings.HasPrefix(part, "!")
		b, n, _ := strings.Cut(strings.TrimPrefix(part, "!"), ">")
		before[ref] = desired.ServiceEndpoints{Found: !missing, Ready: ready(b)}
		now[ref] = desired.ServiceEndpoints{Found: !missing, Ready: ready(n)}
	}
	return before, now
}

var (
	builtInOnce sync.Once
	builtIn     trust.Presets
)

func presets(t testing.TB) trust.Presets {
	builtInOnce.Do(func() {
		var err error
		if builtIn, err = trust.BuiltInPresets(); err != nil {
			panic(err)
		}
	})
	return builtIn
}
