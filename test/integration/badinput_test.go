package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Bad input applied to a PostHogProxy that is already Ready. What the API
// server can tell is wrong it refuses, with the message that names the field
// and the fix, and nothing applied moves. What only the cluster can tell,
// the reconciler refuses with a condition for the new generation, and keeps
// what it applied before: the env of every writer, the last good list, the
// Ingress serving the host.
func TestBadInput(t *testing.T) {
	for _, tc := range badInputs() {
		t.Run(tc.name, tc.run)
	}
}

// badInput is one case: a Ready PostHogProxy (the sample, adjusted by
// start), a bad change to it, and either the API server's refusal or the
// reconciler's condition.
type badInput struct {
	name string
	// chartEnv is env the chart sets on posthog-web besides its own.
	chartEnv []corev1.EnvVar
	// setup makes what the case needs before the PostHogProxy exists.
	setup func(t *testing.T, ns string)
	// start adjusts the sample PostHogProxy that is made Ready first.
	start func(p *proxyv1.PostHogProxy)
	// change is the bad input, applied as a user would.
	change specChange

	// wantRejected is the message the API server refuses the change with.
	wantRejected string

	// want is the condition the reconciler reports for the new generation,
	// and wantMessage a part of its message.
	want        badInputWant
	wantMessage string
	// after edits the snapshot into what must be applied once the change
	// is handled; nil when nothing may change.
	after func(ns string, a *liveState)
	// rewritten are the children the reconciler may write; the others keep
	// their resourceVersion.
	rewritten []string
	// check asserts anything else.
	check func(g Gomega, ns string, got *proxyv1.PostHogProxy)
}

type badInputWant struct {
	Type   string
	Status metav1.ConditionStatus
	Reason string
}

// refusedAs is a part condition that is False for a reason.
func refusedAs(conditionType, reason string) badInputWant {
	return badInputWant{conditionType, metav1.ConditionFalse, reason}
}

// readyAgain: the change is admitted, applied, and Ready for the new generation.
var readyAgain = badInputWant{proxyv1.ConditionReady, metav1.ConditionTrue, proxyv1.ReasonReconciled}

// specChange applies bad input to the PostHogProxy with the given key.
type specChange func(ctx context.Context, key client.ObjectKey) error

// updateSpec reads the PostHogProxy, changes it, and writes it back whole.
func updateSpec(mutate func(p *proxyv1.PostHogProxy)) specChange {
	return func(ctx context.Context, key client.ObjectKey) error {
		p := &proxyv1.PostHogProxy{}
		if err := k8sClient.Get(ctx, key, p); err != nil {
			return err
		}
		mutate(p)
		return k8sClient.Update(ctx, p)
	}
}

// mergePatchSpec sends a JSON merge patch, as kubectl patch --type=merge does:
// it can send what the Go types leave out, such as a zero or a null.
func mergePatchSpec(patch string) specChange {
	return func(ctx context.Context, key client.ObjectKey) error {
		p := &proxyv1.PostHogProxy{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		return k8sClient.Patch(ctx, p, client.RawPatch(types.MergePatchType, []byte(patch)))
	}
}

func addAddresses(a ...proxyv1.AddressOrRange) specChange {
	return updateSpec(func(p *proxyv1.PostHogProxy) {
		p.Spec.TrustedProxies.Addresses = append(p.Spec.TrustedProxies.Addresses, a...)
	})
}

func addHosts(h ...proxyv1.Hostname) specChange {
	return updateSpec(func(p *proxyv1.PostHogProxy) { p.Spec.Hosts = append(p.Spec.Hosts, h...) })
}

func setAnnotation(key string, value proxyv1.AnnotationValue) specChange {
	return updateSpec(func(p *proxyv1.PostHogProxy) {
		p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{key: value}
	})
}

// startSplit is a Ready start with exposure Split on nginx, private by source
// ranges.
func startSplit(p *proxyv1.PostHogProxy) {
	p.Spec.Ingress.Exposure = proxyv1.ExposeSplit
	p.Spec.Ingress.Controller = proxyv1.ControllerNginx
	p.Spec.Ingress.Private = &proxyv1.PrivateIngress{SourceRanges: []proxyv1.SourceRange{"10.0.0.0/8"}}
}

func badInputs() []badInput {
	const (
		addressMessage = "spec.trustedProxies.addresses entries must be IP addresses such as 10.0.0.7 or networks such as 10.0.0.0/16; ports, zones and IPv4-mapped IPv6 (write ::ffff:10.0.0.1 as 10.0.0.1) are not accepted"
		hostMessage    = "spec.hosts entries must be lower-case DNS names such as posthog.example.com, without scheme, port, path or wildcard"
	)
	return []badInput{
		// Malformed addresses and networks.
		{name: "octet out of range", change: addAddresses("10.0.0.256"), wantRejected: addressMessage},
		{name: "prefix longer than 32", change: addAddresses("10.0.0.0/33"), wantRejected: addressMessage},
		{name: "address with a trailing space", change: addAddresses("10.0.0.1 "), wantRejected: addressMessage},
		{name: "IPv6 address with a zone", change: addAddresses("fe80::1%eth0"), wantRejected: addressMessage},
		{name: "IPv4-mapped spelling of a listed proxy", change: addAddresses("::ffff:10.0.0.7"), wantRejected: addressMessage},
		{name: "IPv6 slash 0 network", change: addAddresses("::/0"),
			wantRejected: "spec.trustedProxies.addresses must not hold a /0 network: it trusts every client; set spec.trustedProxies.policy to TrustAll if that is really meant"},
		{name: "addresses emptied under policy List", change: mergePatchSpec(`{"spec":{"trustedProxies":{"addresses":null}}}`),
			wantRejected: "spec.trustedProxies needs at least one source when spec.trustedProxies.policy is List: addresses, services (for example the ingress controller's Service) or presets; or set policy to TrustAll (unsafe)"},
		{name: "addresses past maxItems", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = nil
			for i := range 257 {
				p.Spec.TrustedProxies.Addresses = append(p.Spec.TrustedProxies.Addresses, proxyv1.AddressOrRange(fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)))
			}
		}), wantRejected: "spec.trustedProxies.addresses: Too many: 257: must have at most 256 items"},

		// Spellings the API server admits and the list writes canonically:
		// nothing is republished, no pod rolls.
		{name: "IPv6 proxy respelled in upper case with zeros", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.12", "10.0.0.7", "2001:0DB8:0000:0000:0000:0000:0000:0001"}
		}), want: readyAgain},
		{name: "listed proxy respelled as a slash 32", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = []proxyv1.AddressOrRange{"10.0.0.12", "10.0.0.7/32", "2001:db8::1"}
		}), want: readyAgain},

		// Hosts.
		{name: "duplicate host", change: updateSpec(func(p *proxyv1.PostHogProxy) { p.Spec.Hosts = append(p.Spec.Hosts, p.Spec.Hosts[0]) }),
			wantRejected: "spec.hosts[1]: Duplicate value"},
		{name: "host in upper case", change: addHosts("EU.PostHog.example.com"), wantRejected: hostMessage},
		{name: "host with a trailing dot", change: addHosts("eu.posthog.example.com."), wantRejected: hostMessage},
		{name: "wildcard host", change: addHosts("*.posthog.example.com"), wantRejected: hostMessage},
		{name: "host with a port", change: addHosts("eu.posthog.example.com:8443"), wantRejected: hostMessage},
		{name: "unicode host not in punycode", change: addHosts("pöst.example.com"), wantRejected: hostMessage},
		{name: "zero-width space in a host", change: addHosts("eu.post\u200bhog.example.com"), wantRejected: hostMessage},
		{name: "hosts emptied", change: mergePatchSpec(`{"spec":{"hosts":[]}}`),
			wantRejected: "spec.hosts in body should have at least 1 items"},

		// Ports.
		{name: "port 0", change: mergePatchSpec(`{"spec":{"ingress":{"service":{"port":{"number":0}}}}}`),
			wantRejected: "spec.ingress.service.port.number in body should be greater than or equal to 1"},
		{name: "port 65536", change: mergePatchSpec(`{"spec":{"ingress":{"service":{"port":{"number":65536}}}}}`),
			wantRejected: "spec.ingress.service.port.number in body should be less than or equal to 65535"},

		// Strings: size, control characters, unicode.
		{name: "annotation value one past its limit", change: setAnnotation("example.com/note", proxyv1.AnnotationValue(strings.Repeat("x", 1025))),
			wantRejected: "Too long: may not be more than 1024 bytes"},
		{name: "DEL character in an annotation value", change: setAnnotation("nginx.ingress.kubernetes.io/proxy-body-size", "25m\x7f"),
			wantRejected: "spec.ingress.annotations values must not contain control characters such as newlines: they could carry configuration into the ingress controller"},
		{name: "newline in the TLS Secret name", change: mergePatchSpec(`{"spec":{"tls":{"secretName":"posthog-tls\n"}}}`),
			wantRejected: "spec.tls.secretName must be a Secret name: lower-case letters, digits, '-' and '.'"},
		{name: "unicode annotation value at its limit in characters",
			change: setAnnotation("example.com/note", proxyv1.AnnotationValue(strings.Repeat("é", 1024))),
			want:   readyAgain,
			after: func(_ string, a *liveState) {
				a.Ingresses["posthog"] = liveIngress{Annotations: map[string]string{"example.com/note": strings.Repeat("é", 1024)}, Spec: a.Ingresses["posthog"].Spec}
			},
			rewritten: []string{"ingress/posthog"}},

		// Conflicting options.
		{name: "TrustAll while addresses remain", change: mergePatchSpec(`{"spec":{"trustedProxies":{"policy":"TrustAll"}}}`),
			wantRejected: "spec.trustedProxies.addresses, services and presets must be empty when spec.trustedProxies.policy is TrustAll: trusting every proxy and trusting a list are mutually exclusive"},
		{name: "TLS at the Ingress without its Secret", change: mergePatchSpec(`{"spec":{"tls":{"secretName":null}}}`),
			wantRejected: "spec.tls.secretName is required when spec.tls.termination is Ingress: name the Secret (type kubernetes.io/tls) that holds the certificate for spec.hosts"},
		{name: "alb without a Secret moved to nginx",
			start: func(p *proxyv1.PostHogProxy) {
				p.Spec.Ingress.Controller = proxyv1.ControllerALB
				p.Spec.TLS = proxyv1.TLS{Termination: proxyv1.TLSAtIngress}
			},
			change:       mergePatchSpec(`{"spec":{"ingress":{"controller":"nginx"}}}`),
			wantRejected: "spec.tls.secretName is required when spec.tls.termination is Ingress"},
		{name: "TLS at a load balancer with the Secret kept", change: mergePatchSpec(`{"spec":{"tls":{"termination":"LoadBalancer"}}}`),
			wantRejected: "spec.tls.secretName is only used when spec.tls.termination is Ingress: remove it, or set termination to Ingress"},
		{name: "no TLS with cert-manager kept",
			start: func(p *proxyv1.PostHogProxy) {
				p.Spec.TLS.CertManager = &proxyv1.CertManagerIssuer{Name: "letsencrypt"}
			},
			change:       mergePatchSpec(`{"spec":{"tls":{"termination":"None","secretName":null}}}`),
			wantRejected: "spec.tls.certManager is only used when spec.tls.termination is Ingress: the certificate then lives on the Ingress"},
		{name: "Split with its private Ingress removed", start: startSplit, change: mergePatchSpec(`{"spec":{"ingress":{"private":null}}}`),
			wantRejected: "spec.ingress.exposure Split needs spec.ingress.private.className (an internal ingress controller) or private.sourceRanges: otherwise the private Ingress is as public as the other"},
		{name: "back to All with the private Ingress kept", start: startSplit, change: mergePatchSpec(`{"spec":{"ingress":{"exposure":"All"}}}`),
			wantRejected: "spec.ingress.private is only used when spec.ingress.exposure is Split: remove it, or set exposure to Split"},
		{name: "Split source ranges moved to traefik", start: startSplit, change: mergePatchSpec(`{"spec":{"ingress":{"controller":"traefik"}}}`),
			wantRejected: "spec.ingress.private.sourceRanges cannot be enforced by an annotation with controller traefik, gce or generic"},
		{name: "Split source range widened to slash 0", start: startSplit,
			change: updateSpec(func(p *proxyv1.PostHogProxy) {
				p.Spec.Ingress.Private.SourceRanges = append(p.Spec.Ingress.Private.SourceRanges, "0.0.0.0/0")
			}),
			wantRejected: "spec.ingress.private.sourceRanges must not hold a /0 network: it lets everyone in; use exposure All if that is meant"},

		// Admitted, but only the reconciler can tell: the trusted proxy list.
		{name: "unknown preset", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Presets = []proxyv1.PresetName{"cloudfare"}
		}),
			want:        refusedAs(proxyv1.ConditionTrustedProxiesReady, proxyv1.ReasonUnknownPreset),
			wantMessage: `this operator knows no preset "cloudfare"; it knows cloudflare`},
		{name: "Service that does not exist", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: p.Namespace, Name: "ingress-nginx-controler"}}
		}),
			want:        refusedAs(proxyv1.ConditionTrustedProxiesReady, proxyv1.ReasonServiceNotFound),
			wantMessage: "/ingress-nginx-controler in spec.trustedProxies.services does not exist; the last published list stays"},
		{name: "Service whose endpoints outgrow the list",
			setup: bigIPv6Controller,
			change: updateSpec(func(p *proxyv1.PostHogProxy) {
				p.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: p.Namespace, Name: controllerService}}
			}),
			want:        refusedAs(proxyv1.ConditionTrustedProxiesReady, proxyv1.ReasonListTooLarge),
			wantMessage: fmt.Sprintf("more than the %d bytes the operator puts in one environment variable; the last published list stays", desired.MaxListBytes)},
		{name: "network under exact matching",
			change:      addAddresses("10.1.0.0/16"),
			want:        refusedAs(proxyv1.ConditionTrustedProxiesReady, proxyv1.ReasonUnmatchableEntries),
			wantMessage: "these networks match no peer: 10.1.0.0/16",
			// Published as asked: the listed proxies stay trusted.
			after:     publishes("10.0.0.7", "10.0.0.12", "10.1.0.0/16", "2001:db8::1"),
			rewritten: []string{"configmap", "deployment"}},

		// The Ingress.
		{name: "host another PostHogProxy serves",
			setup: func(t *testing.T, ns string) {
				_, other := startWithPostHog(t)
				holder := sampleProxy(other, "posthog")
				holder.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname("shared." + hostFor(ns))}
				createReady(t, holder)
			},
			change: updateSpec(func(p *proxyv1.PostHogProxy) {
				p.Spec.Hosts = append(p.Spec.Hosts, proxyv1.Hostname("shared."+hostFor(p.Namespace)))
			}),
			want:        refusedAs(proxyv1.ConditionIngressReady, proxyv1.ReasonHostConflict),
			wantMessage: "is already served by PostHogProxy",
			// The Ingress keeps serving the own host; the settings follow the spec.
			after:     func(ns string, a *liveState) { a.setEnv(desired.EnvAllowedHosts, hostFor(ns)+",shared."+hostFor(ns)) },
			rewritten: []string{"deployment"}},

		// The targets.
		{name: "target Deployment that does not exist", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets = append(p.Spec.Targets, proxyv1.TargetDeployment{Name: "posthog-worker"})
		}),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonTargetNotFound),
			wantMessage: "posthog-worker does not exist; create it or fix spec.targets"},
		{name: "container the Deployment lacks", change: updateSpec(func(p *proxyv1.PostHogProxy) {
			p.Spec.Targets[0].Containers = []proxyv1.ContainerName{"web"}
		}),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonContainerNotFound),
			wantMessage: "Deployment posthog-web has no container web (it has posthog-web)"},
		{name: "container list dropped beside a sidecar",
			setup:       addSidecar,
			start:       func(p *proxyv1.PostHogProxy) { p.Spec.Targets[0].Containers = []proxyv1.ContainerName{webContainer} },
			change:      mergePatchSpec(`{"spec":{"targets":[{"name":"posthog-web"}]}}`),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonContainerNotSpecified),
			wantMessage: "Deployment posthog-web has containers posthog-web, cloud-sql-proxy and none is marked"},
		{name: "Deployment another PostHogProxy patches",
			setup: func(t *testing.T, ns string) {
				createAs(t, postHogWeb(ns, "posthog-web-canary"), chartManager)
				canary := sampleProxy(ns, "canary")
				canary.Spec.Targets = []proxyv1.TargetDeployment{{Name: "posthog-web-canary"}}
				canary.Spec.Hosts = []proxyv1.Hostname{proxyv1.Hostname("canary." + hostFor(ns))}
				createReady(t, canary)
			},
			change: updateSpec(func(p *proxyv1.PostHogProxy) {
				p.Spec.Targets = append(p.Spec.Targets, proxyv1.TargetDeployment{Name: "posthog-web-canary"})
			}),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonTargetClaimed),
			wantMessage: "Deployment posthog-web-canary is already patched by PostHogProxy canary",
			check: func(g Gomega, ns string, _ *proxyv1.PostHogProxy) {
				d := getDeployment(g, ns, "posthog-web-canary")
				g.Expect(d.Annotations).To(HaveKeyWithValue(desired.PatchedByAnnotation, "canary"))
				g.Expect(envOf(d, webContainer)[desired.EnvAllowedHosts].Value).To(Equal("canary."+hostFor(ns)), "the other one's settings stay")
			}},

		// Variables another field manager owns.
		{name: "SITE_URL the chart sets taken over",
			chartEnv:    []corev1.EnvVar{{Name: desired.EnvSiteURL, Value: "https://old.example.com"}},
			start:       func(p *proxyv1.PostHogProxy) { p.Spec.SiteURL = proxyv1.SiteURLUnmanaged },
			change:      mergePatchSpec(`{"spec":{"siteURL":"PrimaryHost"}}`),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonFieldConflict),
			wantMessage: `env[name="SITE_URL"].value (conflict with "posthog-chart"`},
		{name: "no TLS while the chart sets Secure cookies",
			chartEnv:    []corev1.EnvVar{{Name: desired.EnvSecureCookies, Value: "true"}},
			change:      mergePatchSpec(`{"spec":{"tls":{"termination":"None","secretName":null}}}`),
			want:        refusedAs(proxyv1.ConditionTargetsReady, proxyv1.ReasonFieldConflict),
			wantMessage: `env[name="SECURE_COOKIES"].value (conflict with "posthog-chart"`,
			// The Ingress follows the spec; the Deployment keeps every value.
			after: func(_ string, a *liveState) {
				ing := a.Ingresses["posthog"]
				ing.Spec.TLS = nil
				a.Ingresses["posthog"] = ing
			},
			rewritten: []string{"ingress/posthog"}},
	}
}

// bigIPv6Controller is an ingress controller Service in ns whose ready
// endpoints, in one EndpointSlice, make a list longer than MaxListBytes.
func bigIPv6Controller(t *testing.T, ns string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: controllerService, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	Expect(k8sClient.Create(context.Background(), svc)).To(Succeed())
	var addrs []string
	for i := range 900 {
		addrs = append(addrs, fmt.Sprintf("fd00:1111:2222:3333:4444:5555:6666:%x", 0x1000+i))
	}
	Expect(len(strings.Join(addrs, ","))).To(BeNumerically(">", desired.MaxListBytes))
	setEndpoints(t, ns, "slice-v6", discoveryv1.AddressTypeIPv6, addrs...)
}

// addSidecar gives posthog-web a second container, as the chart would.
func addSidecar(t *testing.T, ns string) {
	t.Helper()
	d := getDeployment(Default, ns, "posthog-web")
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers,
		corev1.Container{Name: "cloud-sql-proxy", Image: "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0"})
	Expect(k8sClient.Update(context.Background(), d, client.FieldOwner(chartManager))).To(Succeed())
}

// publishes is the ConfigMap holding the given list, from the static
// addresses alone.
func publishes(entries ...string) func(string, *liveState) {
	return func(_ string, a *liveState) {
		value := strings.Join(entries, ",")
		sources, err := json.MarshalIndent([]desired.SourceRecord{{Name: "static", Entries: entries}}, "", "  ")
		Expect(err).NotTo(HaveOccurred())
		a.ConfigMap[desired.TrustedProxiesKey] = value
		a.ConfigMap[desired.HashKey] = trust.Hash(value)
		a.ConfigMap[desired.SourcesKey] = string(sources)
	}
}

func (tc badInput) run(t *testing.T) {
	ctx, ns := startWithPostHog(t, tc.chartEnv...)
	if tc.setup != nil {
		tc.setup(t, ns)
	}
	proxy := sampleProxy(ns, "posthog")
	if tc.start != nil {
		tc.start(proxy)
	}
	_, key := createReady(t, proxy)
	before := settledLiveSnapshot(t, key)

	err := tc.change(ctx, key)
	if tc.wantRejected != "" {
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want the API server to refuse it as invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring(tc.wantRejected))
		Expect(toJSON(takeLiveSnapshot(Default, key))).To(Equal(toJSON(before)), "a refused change moves nothing")
		return
	}

	Expect(err).NotTo(HaveOccurred(), "the API server admits it")
	got := waitForCondition(t, key, tc.want.Type, tc.want.Status, tc.want.Reason)
	Expect(got.Generation).To(BeNumerically(">", before.Generation), "the change is a new generation")
	if tc.wantMessage != "" {
		Expect(condition(got, tc.want.Type).Message).To(ContainSubstring(tc.wantMessage))
	}
	if tc.want.Status == metav1.ConditionFalse {
		// kstatus readers see it: not Ready, and Stalled until a person acts.
		Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		Expect(condition(got, proxyv1.ConditionReady).Reason).To(Equal(tc.want.Reason))
		Expect(condition(got, proxyv1.ConditionStalled)).NotTo(BeNil())
		Expect(condition(got, proxyv1.ConditionStalled).Reason).To(Equal(tc.want.Reason))
		Expect(condition(got, proxyv1.ConditionReconciling)).To(BeNil(), "a problem for a person is not retried")
	}

	want := before.Applied.clone()
	if tc.after != nil {
		tc.after(ns, &want)
	}
	now := takeLiveSnapshot(Default, key)
	Expect(toJSON(now.Applied)).To(Equal(toJSON(want)), "what is applied")
	for child, version := range before.Versions {
		if child != "proxy" && !slices.Contains(tc.rewritten, child) {
			Expect(now.Versions[child]).To(Equal(version), "%s was written", child)
		}
	}
	if tc.check != nil {
		tc.check(Default, ns, got)
	}
}

// An object stored before a validation rule that now refuses it existed
// (as with an older CRD) is read back as stored: the reconciler refuses it
// with InvalidSpec, and keeps what it applied. The API server of this suite
// refuses such an entry, so the test's own reconciler reads the object
// through a client that returns it as an older CRD had stored it.
func TestBadInputStoredBeforeItsRule(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	_, req := unmanagedProxy(t, ns)
	direct, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	_, err = (&controllers.PostHogProxyReconciler{Client: direct, APIReader: direct, Presets: presets}).Reconcile(ctx, req)
	Expect(err).NotTo(HaveOccurred())
	Expect(condition(getProxy(Default, req.NamespacedName), proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	before := takeLiveSnapshot(Default, req.NamespacedName)

	Expect(addAddresses("fe80::1")(ctx, req.NamespacedName)).To(Succeed())
	stored := interceptor.NewClient(direct, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := c.Get(ctx, key, obj, opts...); err != nil {
				return err
			}
			if p, ok := obj.(*proxyv1.PostHogProxy); ok {
				for i, a := range p.Spec.TrustedProxies.Addresses {
					if a == "fe80::1" {
						p.Spec.TrustedProxies.Addresses[i] = "fe80::1%eth0"
					}
				}
			}
			return nil
		},
	})
	_, err = (&controllers.PostHogProxyReconciler{Client: stored, APIReader: direct, Presets: presets}).Reconcile(ctx, req)
	Expect(err).NotTo(HaveOccurred(), "a spec that cannot be applied is not retried")

	got := getProxy(Default, req.NamespacedName)
	Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	tp := condition(got, proxyv1.ConditionTrustedProxiesReady)
	Expect(tp.Status).To(Equal(metav1.ConditionFalse))
	Expect(tp.Reason).To(Equal(proxyv1.ReasonInvalidSpec))
	Expect(tp.Message).To(ContainSubstring(`spec.trustedProxies.addresses: "fe80::1%eth0" has an IPv6 zone`))
	Expect(condition(got, proxyv1.ConditionReady).Reason).To(Equal(proxyv1.ReasonInvalidSpec))
	Expect(condition(got, proxyv1.ConditionStalled).Reason).To(Equal(proxyv1.ReasonInvalidSpec))

	now := takeLiveSnapshot(Default, req.NamespacedName)
	Expect(toJSON(now.Applied)).To(Equal(toJSON(before.Applied)), "the last good list and settings stay")
	for child, version := range before.Versions {
		if child != "proxy" {
			Expect(now.Versions[child]).To(Equal(version), "%s was written", child)
		}
	}
}

// liveState is what a PostHogProxy has applied to the cluster.
type liveState struct {
	// Env is all the env of container posthog-web, in order: the chart's
	// and every other writer's as well as the operator's.
	Env []corev1.EnvVar
	// ConfigMap is the trusted proxy ConfigMap's data.
	ConfigMap map[string]string
	// Ingresses are the PostHogProxy's Ingresses by name.
	Ingresses map[string]liveIngress
}

type liveIngress struct {
	Annotations map[string]string
	Spec        networkingv1.IngressSpec
}

func (a liveState) clone() liveState {
	var out liveState
	data, err := json.Marshal(a)
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Unmarshal(data, &out)).To(Succeed())
	return out
}

// setEnv expects a variable already in the env to have a new value.
func (a *liveState) setEnv(name, value string) {
	for i := range a.Env {
		if a.Env[i].Name == name {
			a.Env[i].Value = value
			return
		}
	}
	ExpectWithOffset(1, a.Env).To(ContainElement(HaveField("Name", name)), "no variable %s in the env", name)
}

// liveSnapshot is what is applied, and what tells whether anything moved.
type liveSnapshot struct {
	Applied    liveState
	Conditions []metav1.Condition
	Generation int64
	// Versions are resourceVersions: "proxy", "deployment", "configmap"
	// and "ingress/<name>".
	Versions map[string]string
}

func takeLiveSnapshot(g Gomega, key client.ObjectKey) liveSnapshot {
	ctx := context.Background()
	proxy := getProxy(g, key)
	s := liveSnapshot{
		Conditions: proxy.Status.Conditions,
		Generation: proxy.Generation,
		Versions:   map[string]string{"proxy": proxy.ResourceVersion},
		Applied:    liveState{Ingresses: map[string]liveIngress{}},
	}
	d := getDeployment(g, key.Namespace, "posthog-web")
	s.Versions["deployment"] = d.ResourceVersion
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == webContainer {
			s.Applied.Env = c.Env
		}
	}
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: desired.ConfigMapName(proxy)}, cm)).To(Succeed())
	s.Versions["configmap"] = cm.ResourceVersion
	s.Applied.ConfigMap = cm.Data
	ingresses := &networkingv1.IngressList{}
	g.Expect(k8sClient.List(ctx, ingresses, client.InNamespace(key.Namespace), client.MatchingLabels{desired.InstanceLabel: key.Name})).To(Succeed())
	g.Expect(ingresses.Items).NotTo(BeEmpty())
	for _, ing := range ingresses.Items {
		s.Versions["ingress/"+ing.Name] = ing.ResourceVersion
		s.Applied.Ingresses[ing.Name] = liveIngress{Annotations: ing.Annotations, Spec: ing.Spec}
	}
	return s
}

// settledLiveSnapshot waits until the snapshot stays the same between two looks,
// so that a reconcile still in flight after Ready is not taken for a change.
func settledLiveSnapshot(t *testing.T, key client.ObjectKey) liveSnapshot {
	t.Helper()
	var last string
	var out liveSnapshot
	Eventually(func(g Gomega) {
		out = takeLiveSnapshot(g, key)
		previous := toJSON(out)
		previous, last = last, previous
		g.Expect(last).To(Equal(previous))
	}).WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	return out
}
