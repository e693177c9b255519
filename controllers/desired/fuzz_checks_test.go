package desired_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// decodeApplied turns an apply configuration into the typed object the API
// server decodes it to; a field the type does not know is an error.
func decodeApplied(t *testing.T, applied, into any) {
	t.Helper()
	data, err := json.Marshal(applied)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s does not decode into %T: %v", data, into, err)
	}
}

func fail(t *testing.T, what string, errs field.ErrorList) {
	t.Helper()
	if len(errs) > 0 {
		t.Fatalf("%s is invalid: %v", what, errs.ToAggregate())
	}
}

func msgs(path *field.Path, value string, messages []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range messages {
		errs = append(errs, field.Invalid(path, value, m))
	}
	return errs
}

func checkMeta(t *testing.T, what string, meta *metav1.ObjectMeta, proxy *proxyv1.PostHogProxy) {
	t.Helper()
	fail(t, what+" metadata", apivalidation.ValidateObjectMeta(meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata")))
	if meta.Namespace != proxy.Namespace {
		t.Fatalf("%s is in namespace %q, not the PostHogProxy's %q", what, meta.Namespace, proxy.Namespace)
	}
}

func checkConfigMap(t *testing.T, proxy *proxyv1.PostHogProxy, proxies desired.ProxyList, services map[proxyv1.ServiceReference]desired.ServiceEndpoints, cm *corev1.ConfigMap) {
	t.Helper()
	checkMeta(t, "ConfigMap", &cm.ObjectMeta, proxy)
	if cm.Name != desired.ConfigMapName(proxy) || !metav1.IsControlledBy(cm, proxy) {
		t.Fatalf("ConfigMap %s is not the one of %s, or not controlled by it", cm.Name, proxy.Name)
	}
	size := 0
	for k, v := range cm.Data {
		fail(t, "ConfigMap key", msgs(field.NewPath("data"), k, validation.IsConfigMapKey(k)))
		size += len(k) + len(v)
	}
	if size > corev1.MaxSecretSize {
		t.Fatalf("ConfigMap data is %d bytes, over the API's %d", size, corev1.MaxSecretSize)
	}
	value := cm.Data[desired.TrustedProxiesKey]
	if value != proxies.List.Value() || cm.Data[desired.HashKey] != trust.Hash(value) || len(value) > desired.MaxListBytes {
		t.Fatalf("ConfigMap list %q / hash %q do not match the list %q", value, cm.Data[desired.HashKey], proxies.List.Value())
	}
	// What the list holds: the static addresses, the presets and the ready
	// addresses, and nothing that is not leaving.
	var sources []trust.Source
	static := make([]string, len(proxy.Spec.TrustedProxies.Addresses))
	for i, a := range proxy.Spec.TrustedProxies.Addresses {
		static[i] = string(a)
	}
	entries, _ := trust.Parse(static)
	sources = append(sources, trust.Source{Entries: entries})
	for _, name := range proxy.Spec.TrustedProxies.Presets {
		sources = append(sources, trust.Source{Entries: presets(t)[string(name)].Entries})
	}
	for _, s := range services {
		sources = append(sources, trust.Source{Entries: s.Ready})
	}
	for _, d := range proxies.Leaving {
		sources = append(sources, trust.Source{Entries: []trust.Entry{d.Entry}})
	}
	if want := trust.Merge(sources...).Value(); want != value {
		t.Fatalf("ConfigMap list %q, want %q", value, want)
	}
	published, ok := desired.ReadPublished(cm.Data)
	if !ok {
		t.Fatalf("the operator cannot read back the ConfigMap it wrote: %v", cm.Data)
	}
	for ref, s := range services {
		got := trust.Merge(trust.Source{Entries: published.Discovered[desired.ServiceSourceName(ref)]}).Value()
		if want := trust.Merge(trust.Source{Entries: s.Ready}).Value(); got != want {
			t.Fatalf("ConfigMap records %q for %s, the Service gave %q", got, desired.ServiceSourceName(ref), want)
		}
	}
	if len(published.Leaving) != len(proxies.Leaving) {
		t.Fatalf("ConfigMap records %d departures, the list has %d", len(published.Leaving), len(proxies.Leaving))
	}
	for _, d := range proxies.Leaving {
		if !slices.ContainsFunc(published.Leaving, func(p trust.Departure) bool {
			return p.Entry == d.Entry && p.From == d.From && p.Until.Equal(d.Until.Truncate(time.Second))
		}) {
			t.Fatalf("departure %v not recorded in %v", d, published.Leaving)
		}
	}
}

// Path rules of the API server's Ingress validation
// (k8s.io/kubernetes/pkg/apis/networking/validation, not importable here).
var (
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

func checkIngress(t *testing.T, proxy *proxyv1.PostHogProxy, plan desired.IngressPlan, ing *networkingv1.Ingress) {
	t.Helper()
	checkMeta(t, "Ingress", &ing.ObjectMeta, proxy)
	if ing.Name != plan.Name || !metav1.IsControlledBy(ing, proxy) {
		t.Fatalf("Ingress %s, planned %s, or not controlled by %s", ing.Name, plan.Name, proxy.Name)
	}
	spec := ing.Spec
	var errs field.ErrorList
	if spec.IngressClassName != nil {
		errs = append(errs, msgs(field.NewPath("spec", "ingressClassName"), *spec.IngressClassName, validation.IsDNS1123Subdomain(*spec.IngressClassName))...)
	}
	var hosts []string
	for i, rule := range spec.Rules {
		p := field.NewPath("spec", "rules").Index(i)
		hosts = append(hosts, rule.Host)
		errs = append(errs, msgs(p.Child("host"), rule.Host, validation.IsDNS1123Subdomain(rule.Host))...)
		if _, err := netip.ParseAddr(rule.Host); err == nil {
			errs = append(errs, field.Invalid(p.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
		}
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(p.Child("http", "paths"), ""))
			continue
		}
		seen := map[string]bool{}
		for j, path := range rule.HTTP.Paths {
			pp := p.Child("http", "paths").Index(j)
			key := path.Path + " " + string(ptrOr(path.PathType))
			if seen[key] {
				errs = append(errs, field.Duplicate(pp, key))
			}
			seen[key] = true
			switch ptrOr(path.PathType) {
			case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
				if !strings.HasPrefix(path.Path, "/") {
					errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must be an absolute path"))
				}
				for _, s := range invalidPathSequences {
					if strings.Contains(path.Path, s) {
						errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must not contain "+s))
					}
				}
				for _, s := range invalidPathSuffixes {
					if strings.HasSuffix(path.Path, s) {
						errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must not end with "+s))
					}
				}
			case networkingv1.PathTypeImplementationSpecific:
				if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
					errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must be an absolute path"))
				}
			default:
				errs = append(errs, field.NotSupported[string](pp.Child("pathType"), path.PathType, nil))
			}
			if plan.Role == desired.RolePublic && (path.Path == "/" || path.Path == "/*") {
				errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "the public Ingress serves everything"))
			}
			svc := path.Backend.Service
			if svc == nil {
				errs = append(errs, field.Required(pp.Child("backend", "service"), ""))
				continue
			}
			bp := pp.Child("backend", "service")
			errs = append(errs, msgs(bp.Child("name"), svc.Name, validation.IsDNS1035Label(svc.Name))...)
			switch {
			case svc.Port.Name != "" && svc.Port.Number != 0:
				errs = append(errs, field.Invalid(bp.Child("port"), svc.Port, "name and number are exclusive"))
			case svc.Port.Name != "":
				errs = append(errs, msgs(bp.Child("port", "name"), svc.Port.Name, validation.IsValidPortName(svc.Port.Name))...)
			default:
				errs = append(errs, msgs(bp.Child("port", "number"), fmt.Sprint(svc.Port.Number), validation.IsValidPortNum(int(svc.Port.Number)))...)
			}
		}
	}
	for i, tls := range spec.TLS {
		p := field.NewPath("spec", "tls").Index(i)
		for _, h := range tls.Hosts {
			errs = append(errs, msgs(p.Child("hosts"), h, validation.IsDNS1123Subdomain(h))...)
		}
		if tls.SecretName != "" {
			errs = append(errs, msgs(p.Child("secretName"), tls.SecretName, validation.IsDNS1123Subdomain(tls.SecretName))...)
		}
		if !slices.Equal(tls.Hosts, plan.Hosts) {
			errs = append(errs, field.Invalid(p.Child("hosts"), tls.Hosts, "not the served hosts"))
		}
	}
	fail(t, "Ingress "+ing.Name, errs)
	if !slices.Equal(hosts, plan.Hosts) || len(slices.Compact(slices.Sorted(slices.Values(hosts)))) != len(hosts) {
		t.Fatalf("Ingress rules for %q, planned hosts %q", hosts, plan.Hosts)
	}
	if (proxy.Spec.TLS.Termination == proxyv1.TLSAtIngress) != (len(spec.TLS) == 1) {
		t.Fatalf("Ingress TLS %v with termination %s", spec.TLS, proxy.Spec.TLS.Termination)
	}
}

func ptrOr(p *networkingv1.PathType) networkingv1.PathType {
	if p == nil {
		return ""
	}
	return *p
}

func hostStrings(proxy *proxyv1.PostHogProxy) []string {
	out := make([]string, len(proxy.Spec.Hosts))
	for i, h := range proxy.Spec.Hosts {
		out[i] = string(h)
	}
	return out
}

func checkPatch(t *testing.T, proxy *proxyv1.PostHogProxy, name string, containers []string, d *appsv1.Deployment) {
	t.Helper()
	checkMeta(t, "Deployment patch", &d.ObjectMeta, proxy)
	if d.Name != name || d.Annotations[desired.PatchedByAnnotation] != proxy.Name {
		t.Fatalf("patch of %s names %s, patched-by %q", name, d.Name, d.Annotations[desired.PatchedByAnnotation])
	}
	fail(t, "pod template annotations", apivalidation.ValidateAnnotations(d.Spec.Template.Annotations, field.NewPath("spec", "template", "metadata", "annotations")))
	if len(d.Spec.Template.Spec.Containers) != len(containers) {
		t.Fatalf("patch has %d containers, want %d", len(d.Spec.Template.Spec.Containers), len(containers))
	}
	scheme := "https://"
	if proxy.Spec.TLS.Termination == proxyv1.TLSNone {
		scheme = "http://"
	}
	var errs field.ErrorList
	for i, c := range d.Spec.Template.Spec.Containers {
		p := field.NewPath("spec", "template", "spec", "containers").Index(i)
		errs = append(errs, msgs(p.Child("name"), c.Name, validation.IsDNS1123Label(c.Name))...)
		if c.Name != containers[i] {
			t.Fatalf("container %d is %s, want %s", i, c.Name, containers[i])
		}
		env := map[string]corev1.EnvVar{}
		for j, e := range c.Env {
			ep := p.Child("env").Index(j)
			errs = append(errs, msgs(ep.Child("name"), e.Name, validation.IsEnvVarName(e.Name))...)
			if _, dup := env[e.Name]; dup {
				errs = append(errs, field.Duplicate(ep.Child("name"), e.Name))
			}
			env[e.Name] = e
			if (e.Value != "") == (e.ValueFrom != nil) {
				errs = append(errs, field.Invalid(ep, e, "exactly one of value and valueFrom"))
			}
			if ref := e.ValueFrom; ref != nil {
				cm := ref.ConfigMapKeyRef
				if cm == nil || cm.Name != desired.ConfigMapName(proxy) || cm.Key != desired.TrustedProxiesKey {
					errs = append(errs, field.Invalid(ep.Child("valueFrom"), ref, "not the trusted proxy ConfigMap's list"))
				}
			}
		}
		want := map[string]string{desired.EnvIsBehindProxy: "true"}
		if proxy.Spec.TrustedProxies.Policy == proxyv1.TrustAll {
			want[desired.EnvTrustAllProxies] = "true"
		} else {
			want[desired.EnvTrustedProxies] = ""
		}
		if proxy.Spec.AllowedHosts != proxyv1.AllowedHostsUnmanaged {
			want[desired.EnvAllowedHosts] = strings.Join(hostStrings(proxy), ",")
		}
		if proxy.Spec.SiteURL != proxyv1.SiteURLUnmanaged {
			want[desired.EnvSiteURL] = scheme + string(proxy.Spec.Hosts[0])
		}
		if proxy.Spec.TLS.Termination != proxyv1.TLSAtIngress {
			want[desired.EnvDisableSecureSSLRedirect] = "true"
		}
		if proxy.Spec.TLS.Termination == proxyv1.TLSNone {
			want[desired.EnvSecureCookies] = "false"
		}
		got := map[string]string{}
		for n, e := range env {
			got[n] = e.Value
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("container %s gets %v, want %v", c.Name, got, want)
		}
	}
	fail(t, "Deployment patch "+name, errs)
}

// checkStatus: the status is what the API server takes on the status
// subresource (schema, list-type keys, CEL).
func checkStatus(t *testing.T, a admission, proxy *proxyv1.PostHogProxy) {
	t.Helper()
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(proxy)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.admit(normalizeNumbers(obj).(map[string]any)); err != nil {
		t.Fatalf("status %+v is refused: %v", proxy.Status, err)
	}
}
