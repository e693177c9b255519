package desired_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// built is everything the builders give for one PostHogProxy over two
// reconciles.
type built struct {
	Blocked    [2]string
	ConfigMaps [2]*corev1.ConfigMap
	Ingresses  []*networkingv1.Ingress
	Patches    []*appsv1.Deployment
	Status     proxyv1.PostHogProxyStatus
}

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// build runs the builders as the reconciler does, twice: the second time
// with the state read back from the first ConfigMap and the status of the
// first reconcile. Every object is checked as the API server would check
// it; the reconcile's own promises (read back what it wrote, the variables
// PostHog gets) are checked too.
func build(t *testing.T, a admission, proxy *proxyv1.PostHogProxy, endpoints string, later time.Duration) built {
	proxy = proxy.DeepCopy()
	proxy.Generation = 1
	var out built
	before, now := endpointsOf(proxy, endpoints)
	in := desired.ProxyInputs{Now: t0, Services: before, Presets: presets(t)}
	for round, services := range []map[proxyv1.ServiceReference]desired.ServiceEndpoints{before, now} {
		in.Services = services
		if round == 1 {
			in.Now = t0.Add(later)
		}
		proxies := desired.TrustedProxyList(proxy, in)
		outcome := desired.Outcome{Now: in.Now, Proxies: proxies}
		if proxies.Blocked != nil {
			if proxies.Blocked.Reason == proxyv1.ReasonInvalidSpec {
				t.Fatalf("the API admits spec.trustedProxies.addresses %q, the builder refuses them: %s",
					proxy.Spec.TrustedProxies.Addresses, proxies.Blocked.Message)
			}
			out.Blocked[round] = proxies.Blocked.Reason
			outcome.TrustedProxies = proxies.Blocked
			if in.PublishedHash != "" {
				outcome.Plan = desired.KeepRolled(proxy, in.PublishedHash)
			}
		} else {
			cm := &corev1.ConfigMap{}
			decodeApplied(t, desired.ConfigMap(proxy, proxies), cm)
			checkConfigMap(t, proxy, proxies, services, cm)
			out.ConfigMaps[round] = cm
			published, ok := desired.ReadPublished(cm.Data)
			if !ok {
				t.Fatalf("the operator cannot read back the ConfigMap it wrote: %v", cm.Data)
			}
			in.Published, in.PublishedHash = published, cm.Data[desired.HashKey]
			outcome.Plan = desired.PlanRollout(proxy, proxies.List.Hash(), in.Now)
		}

		hosts, conflict := desired.ServedHosts(proxy, []proxyv1.PostHogProxy{*proxy})
		if conflict != nil || !slices.Equal(hosts, hostStrings(proxy)) {
			t.Fatalf("alone, a PostHogProxy serves %q of its hosts %q (%v)", hosts, proxy.Spec.Hosts, conflict)
		}
		outcome.Ingresses = desired.IngressPlans(proxy, hosts)
		out.Ingresses = nil
		for _, plan := range outcome.Ingresses {
			ing := &networkingv1.Ingress{}
			decodeApplied(t, desired.Ingress(proxy, plan), ing)
			checkIngress(t, proxy, plan, ing)
			out.Ingresses = append(out.Ingresses, ing)
		}

		out.Patches = nil
		for _, target := range proxy.Spec.Targets {
			if outcome.Plan.Hash == "" {
				outcome.Targets = append(outcome.Targets, desired.TargetOutcome{Name: target.Name, Problem: &desired.Problem{Reason: "HeldBack", Message: "held back"}})
				continue
			}
			containers := []string{"posthog-web"}
			if len(target.Containers) > 0 {
				containers = nil
				for _, c := range target.Containers {
					containers = append(containers, string(c))
				}
			}
			patch := &appsv1.Deployment{}
			decodeApplied(t, desired.DeploymentPatch(proxy, target.Name, containers, outcome.Plan.Hash, nil), patch)
			checkPatch(t, proxy, target.Name, containers, patch)
			out.Patches = append(out.Patches, patch)
			outcome.Targets = append(outcome.Targets, desired.TargetOutcome{Name: target.Name, Containers: containers, Rolled: true})
		}

		proxy.Status = desired.Status(proxy, outcome)
		checkStatus(t, a, proxy)
	}
	out.Status = proxy.Status
	for i := range out.Status.Conditions {
		out.Status.Conditions[i].LastTransitionTime = metav1.Time{} // set from the clock
	}
	return out
}

// semantic is what must not change when lists whose order carries no
// meaning are reordered. The builders keep the spec's order of hosts
// (hosts[0] is the primary host; ALLOWED_HOSTS, the Ingress rules and TLS
// hosts follow spec.hosts, so reordering the others changes the config
// hash on purpose), presets and services (sources.json), source ranges
// (the annotation) and containers; addresses and public paths are made
// canonical, which byte-identical output checks separately.
func semantic(b built) string {
	var out strings.Builder
	fmt.Fprintln(&out, b.Blocked)
	for _, cm := range b.ConfigMaps {
		if cm == nil {
			fmt.Fprintln(&out, "no ConfigMap")
			continue
		}
		data := cloneMap(cm.Data)
		var records []desired.SourceRecord
		if err := json.Unmarshal([]byte(data[desired.SourcesKey]), &records); err != nil {
			panic(err)
		}
		for i := range records {
			sort.Slice(records[i].Departures, func(x, y int) bool {
				dx, dy := records[i].Departures[x], records[i].Departures[y]
				return dx.Address+dx.From < dy.Address+dy.From
			})
		}
		sort.Slice(records, func(i, j int) bool { return records[i].Name < records[j].Name })
		sj, _ := json.Marshal(records)
		data[desired.SourcesKey] = string(sj)
		fmt.Fprintln(&out, data)
	}
	for _, ing := range b.Ingresses {
		ing = ing.DeepCopy()
		for k, v := range ing.Annotations {
			if strings.HasSuffix(k, "whitelist-source-range") || strings.HasSuffix(k, "allow-list") || strings.HasSuffix(k, "inbound-cidrs") {
				parts := strings.Split(v, ",")
				slices.Sort(parts)
				ing.Annotations[k] = strings.Join(parts, ",")
			}
		}
		sort.Slice(ing.Spec.Rules, func(i, j int) bool { return ing.Spec.Rules[i].Host < ing.Spec.Rules[j].Host })
		for i := range ing.Spec.TLS {
			slices.Sort(ing.Spec.TLS[i].Hosts)
		}
		j, _ := json.Marshal(ing)
		fmt.Fprintln(&out, string(j))
	}
	patches := slices.Clone(b.Patches)
	sort.Slice(patches, func(i, j int) bool { return patches[i].Name < patches[j].Name })
	for _, d := range patches {
		d = d.DeepCopy()
		delete(d.Spec.Template.Annotations, desired.ConfigHashAnnotation)
		containers := d.Spec.Template.Spec.Containers
		sort.Slice(containers, func(i, j int) bool { return containers[i].Name < containers[j].Name })
		for _, c := range containers {
			for i, e := range c.Env {
				if e.Name == desired.EnvAllowedHosts {
					parts := strings.Split(e.Value, ",")
					slices.Sort(parts)
					c.Env[i].Value = strings.Join(parts, ",")
				}
			}
		}
		j, _ := json.Marshal(d)
		fmt.Fprintln(&out, string(j))
	}
	if tp := b.Status.TrustedProxies; tp != nil {
		fmt.Fprintln(&out, tp.Count, tp.Hash, len(tp.Sources), len(tp.Leaving))
	}
	return out.String()
}

func cloneMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func shuffle[T any](r *rand.Rand, s []T) {
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
}

// FuzzBuilders: for a PostHogProxy the API admits, assembled from fuzzed
// names, hosts, addresses, paths, annotations, ports and enum choices, over
// two reconciles with fuzzed Service endpoints, the builders never panic;
// the ConfigMap, Ingresses, Deployment patches and status are objects the
// API server takes (names, labels, annotations, ConfigMap keys, env names,
// Ingress hosts, paths and backends, list-type keys); the operator reads
// back the ConfigMap it wrote; PostHog gets the variables the spec calls
// for; building twice gives byte-identical JSON; reordering the addresses
// and public paths changes no byte, and reordering every other set or map
// list (hosts after the first) changes nothing but order.
func FuzzBuilders(f *testing.F) {
	for _, in := range []fuzzInput{
		{"posthog", "posthog.example.com", "10.0.0.7,2001:DB8::1,10.0.0.0/8", "", "ingress-nginx/ingress-nginx-controller",
			"10.42.0.1,10.42.0.2>10.42.0.2,10.42.0.3", "nginx||posthog-tls|letsencrypt|posthog-web|http|||posthog-web:web",
			choices(1, 0, 0, 1, 1, 1, 1, 2, 1, 2, 3, 1, 0, 1)},
		{"posthog", "posthog.example.com,eu.posthog.example.com,a.b", "2001:DB8::1,2001:db8::1", "/api/surveys/,/static/toolbar.js", "",
			"", "|internal|||web|http|10.0.0.0/8,192.168.0.0/16|cloudflare|posthog-web:web worker,posthog-worker|nginx.ingress.kubernetes.io/proxy-read-timeout=60",
			choices(1, 2, 1, 3, 3, 1, 1, 0, 2, 1, 1, 0, 7999, 2)},
		{"a", "x.io", "fe80::1%eth0,010.0.0.1,::ffff:10.0.0.1", "/a/../b", "", "", "||||web||||d", choices(1)},
		{"a", "x.io", "10.0.0.1/32,10.0.0.1,fe80::1,127.0.0.1", "/.well-known,/a/b.c/", "ns/svc,ns/svc2",
			"10.0.0.1,10.0.0.2>;10.0.0.2>10.0.0.3", "||||web|||cloudflare|d", choices(1, 2, 2, 5, 2, 2, 2, 0, 3, 1, 1, 0, 79, 3)},
		{"posthog", "posthog.example.com,eu.example.com", "10.0.0.1,2001:db8::/32,127.0.0.1,fe80::1", "/e,/i/v0/e/,/static/x.js",
			"ingress/controller,ingress/internal,other/svc", "10.42.0.1,10.42.0.2,fd00::5>10.42.0.2;10.42.0.2>10.42.0.2;10.42.0.9>",
			"nginx|nginx-internal|posthog-tls|issuer|posthog-web|http|10.0.0.0/8,2001:db8::/32||posthog-web,web2:a b c|haproxy.org/timeout-server=30s;alb.ingress.kubernetes.io/group.name=g",
			choices(1, 2, 0, 4, 3, 0, 0, 3, 5, 3, 4, 1, 0, 0)},
		{"posthog", "posthog.example.com", "", "", "", "", "||||web||||posthog-web", choices(2, 0, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 442, 0)},
		{"posthog", "posthog.example.com", "", "", "ingress/controller", "!", "||||web||||posthog-web", choices(1, 0, 2)},
		{strings.Repeat("p", 63), strings.Repeat("a", 63) + "." + strings.Repeat("b", 63), "10.0.0.1", "/" + strings.Repeat("x", 127), "",
			"", "||||web||||" + strings.Repeat("d", 253), choices(1, 1, 1, 6, 2, 1, 1, 0, 3, 3, 4, 0, 65534, 3)},
		{"POSTHOG", "Posthog.Example.com,ex\u00e4mple.com,*.example.com,10.0.0.1,", "", "", "", "", "", 0},
		{"", "", "", "", "", "", "", 0},
	} {
		f.Add(in.name, in.hosts, in.addresses, in.paths, in.services, in.endpoints, in.words, in.choice, uint64(1))
	}
	f.Fuzz(func(t *testing.T, name, hosts, addresses, paths, services, endpoints, words string, choice, seed uint64) {
		in := fuzzInput{name, hosts, addresses, paths, services, endpoints, words, choice}
		a := loadAdmission(t)
		obj := in.object()
		if a.admit(obj) != nil {
			return
		}
		proxy := &proxyv1.PostHogProxy{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, proxy); err != nil {
			t.Fatalf("an admitted object does not convert: %v", err)
		}
		proxy.UID = types.UID("6f1c2a4e-0d1b-4c4e-9d55-2b7a3c9e8f10")
		later := laters[in.later()]

		first := build(t, a, proxy, endpoints, later)
		firstJSON, _ := json.Marshal(first)
		second := build(t, a, proxy, endpoints, later)
		if secondJSON, _ := json.Marshal(second); !bytes.Equal(firstJSON, secondJSON) {
			t.Fatalf("not deterministic:\n%s\n%s", firstJSON, secondJSON)
		}

		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		canon := proxy.DeepCopy()
		shuffle(r, canon.Spec.TrustedProxies.Addresses)
		shuffle(r, canon.Spec.Ingress.PublicPaths)
		if got, _ := json.Marshal(build(t, a, canon, endpoints, later)); !bytes.Equal(firstJSON, got) {
			t.Fatalf("reordering addresses %q and public paths %q changes the output:\n%s\n%s",
				canon.Spec.TrustedProxies.Addresses, canon.Spec.Ingress.PublicPaths, firstJSON, got)
		}

		// Services are reordered with their endpoints.
		reordered := canon.DeepCopy()
		svcParts := strings.Split(endpoints, ";")
		for len(svcParts) < len(reordered.Spec.TrustedProxies.Services) {
			svcParts = append(svcParts, "")
		}
		svcParts = svcParts[:len(reordered.Spec.TrustedProxies.Services)]
		perm := r.Perm(len(svcParts))
		refs := slices.Clone(reordered.Spec.TrustedProxies.Services)
		parts := slices.Clone(svcParts)
		for i, j := range perm {
			reordered.Spec.TrustedProxies.Services[i], parts[i] = refs[j], svcParts[j]
		}
		if len(reordered.Spec.Hosts) > 1 {
			shuffle(r, reordered.Spec.Hosts[1:])
		}
		shuffle(r, reordered.Spec.TrustedProxies.Presets)
		shuffle(r, reordered.Spec.Targets)
		for i := range reordered.Spec.Targets {
			shuffle(r, reordered.Spec.Targets[i].Containers)
		}
		if p := reordered.Spec.Ingress.Private; p != nil {
			shuffle(r, p.SourceRanges)
		}
		if got, want := semantic(build(t, a, reordered, strings.Join(parts, ";"), later)), semantic(first); got != want {
			t.Fatalf("reordering set and map lists changes the output beyond order:\n%s\n%s", want, got)
		}
	})
}
