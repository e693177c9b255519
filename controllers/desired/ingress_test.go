package desired

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ingress")

var (
	allControllers = []proxyv1.IngressController{proxyv1.ControllerNginx, proxyv1.ControllerTraefik,
		proxyv1.ControllerHAProxy, proxyv1.ControllerALB, proxyv1.ControllerGCE, proxyv1.ControllerGeneric}
	allExposures    = []proxyv1.Exposure{proxyv1.ExposeAll, proxyv1.ExposePublicOnly, proxyv1.ExposeSplit}
	allTerminations = []proxyv1.TLSTermination{proxyv1.TLSAtIngress, proxyv1.TLSAtLoadBalancer, proxyv1.TLSNone}
)

// ingressProxy is the test proxy for one combination: two hosts, the
// public path preset plus one path of the user's, and for Split a private
// class with source ranges where the controller can enforce them.
func ingressProxy(exposure proxyv1.Exposure, controller proxyv1.IngressController, termination proxyv1.TLSTermination) *proxyv1.PostHogProxy {
	p := newProxy()
	p.Spec.Hosts = []proxyv1.Hostname{"posthog.example.com", "eu.posthog.example.com"}
	p.Spec.Ingress.Controller = controller
	p.Spec.Ingress.Exposure = exposure
	p.Spec.Ingress.PublicPaths = []proxyv1.PublicPath{"/api/surveys/", "/static/toolbar.js"}
	p.Spec.TLS = proxyv1.TLS{Termination: termination}
	if termination == proxyv1.TLSAtIngress {
		p.Spec.TLS.SecretName = "posthog-tls"
	}
	if exposure == proxyv1.ExposeSplit {
		p.Spec.Ingress.Private = &proxyv1.PrivateIngress{ClassName: "nginx-internal"}
		if !slices.Contains([]proxyv1.IngressController{proxyv1.ControllerTraefik, proxyv1.ControllerGCE, proxyv1.ControllerGeneric}, controller) {
			p.Spec.Ingress.Private.SourceRanges = []proxyv1.SourceRange{"10.0.0.0/8", "192.168.0.0/16"}
		}
	}
	return p
}

// Every exposure × controller × TLS termination, as golden YAML: what each
// combination produces is reviewed once by eye and then held fixed.
func TestIngressGolden(t *testing.T) {
	for _, exposure := range allExposures {
		for _, controller := range allControllers {
			for _, termination := range allTerminations {
				name := fmt.Sprintf("%s-%s-%s", strings.ToLower(string(exposure)), controller, strings.ToLower(string(termination)))
				t.Run(name, func(t *testing.T) {
					proxy := ingressProxy(exposure, controller, termination)
					var docs []string
					for _, plan := range IngressPlans(proxy, hostStrings(proxy)) {
						data, err := yaml.Marshal(Ingress(proxy, plan))
						if err != nil {
							t.Fatal(err)
						}
						docs = append(docs, string(data))
					}
					got := strings.Join(docs, "---\n")
					file := filepath.Join("testdata", "ingress", name+".yaml")
					if *update {
						if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(file)
					if err != nil {
						t.Fatalf("%v (run go test ./controllers/desired -run TestIngressGolden -update, and review the files)", err)
					}
					if got != string(want) {
						t.Errorf("%s differs from the golden file; if the change is meant, run with -update and review the diff:\n%s", file, got)
					}
				})
			}
		}
	}
}

func TestIngressPlansPerExposure(t *testing.T) {
	for _, tt := range []struct {
		exposure proxyv1.Exposure
		want     []string // name:role
	}{
		{proxyv1.ExposeAll, []string{"posthog:all"}},
		{proxyv1.ExposePublicOnly, []string{"posthog:public"}},
		{proxyv1.ExposeSplit, []string{"posthog-private:private", "posthog:public"}},
		{"", []string{"posthog:all"}},
	} {
		proxy := newProxy()
		proxy.Spec.Ingress.Exposure = tt.exposure
		var got []string
		for _, p := range IngressPlans(proxy, hostStrings(proxy)) {
			got = append(got, p.Name+":"+p.Role)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("exposure %q: plans = %v, want %v", tt.exposure, got, tt.want)
		}
	}
}

// Public endpoints match /x and /x/... but never /xyz; files match exactly.
func TestPublicPathsMatchWholeSegments(t *testing.T) {
	proxy := ingressProxy(proxyv1.ExposePublicOnly, proxyv1.ControllerNginx, proxyv1.TLSAtIngress)
	plan := IngressPlans(proxy, hostStrings(proxy))[0]
	wantPaths := []string{"/api/early_access_features", "/api/surveys", "/array", "/batch", "/capture", "/decide", "/e", "/engage",
		"/flags", "/i", "/s", "/static/array.js", "/static/dead-clicks-autocapture.js", "/static/exception-autocapture.js",
		"/static/lazy-recorder.js", "/static/recorder-v2.js", "/static/recorder.js", "/static/surveys.js", "/static/toolbar.js",
		"/static/tracing-headers.js", "/static/web-vitals.js", "/track"}
	if !slices.Equal(plan.Paths, wantPaths) {
		t.Fatalf("paths = %v, want %v", plan.Paths, wantPaths)
	}
	// Each controller model: the Ingress API's element-wise Prefix, GCE's
	// globs, and a plain string prefix (Traefik without
	// strictPrefixMatching). The rules must hold under every one.
	models := []struct {
		name   string
		preset ingressPreset
		match  func(pathRule, string) bool
	}{
		{"Ingress API", ingressPresets[proxyv1.ControllerNginx], ingressMatches},
		{"GCE globs", ingressPresets[proxyv1.ControllerGCE], ingressMatches},
		{"string prefix", ingressPresets[proxyv1.ControllerTraefik], func(r pathRule, req string) bool {
			if r.pathType == "Prefix" {
				return strings.HasPrefix(req, r.path)
			}
			return ingressMatches(r, req)
		}},
	}
	for _, m := range models {
		for request, want := range map[string]bool{
			"/s": true, "/s/": true, "/s/abc": true, "/static": false, "/sx": false, "/settings": false, "/signup": false,
			"/e": true, "/e/": true, "/engage": true, "/engagex": false, "/events": false, "/exports": false,
			"/i/v0/e": true, "/insights": false, "/flags": true, "/flags/": true, "/batch_exports": false,
			"/decide/": true, "/array/phc_123/config.js": true,
			"/static/array.js": true, "/static/array.jsx": false, "/static/array.js/x": false, "/static/other.js": false,
			"/api/surveys": true, "/api/surveys/42": true, "/api/projects": false, "/": false, "/login": false,
			"/static/lazy-recorder.js": true, "/static/main.js": false, "/api/early_access_features/": true,
		} {
			got := false
			for _, p := range plan.Paths {
				for _, rule := range m.preset.pathRules(p) {
					got = got || m.match(rule, request)
				}
			}
			if got != want {
				t.Errorf("%s: %s matched = %v, want %v", m.name, request, got, want)
			}
		}
	}
}

// ingressMatches follows the Ingress API's path types (and GCE's globs for
// ImplementationSpecific).
func ingressMatches(rule pathRule, request string) bool {
	switch rule.pathType {
	case "Exact":
		return request == rule.path
	case "Prefix":
		if rule.path == "/" {
			return true
		}
		return request == rule.path || strings.HasPrefix(request, strings.TrimSuffix(rule.path, "/")+"/")
	default: // GCE: a trailing /* matches anything below; otherwise exact
		if base, ok := strings.CutSuffix(rule.path, "/*"); ok {
			return strings.HasPrefix(request, base+"/")
		}
		return request == rule.path
	}
}

func TestIngressAnnotations(t *testing.T) {
	t.Run("nginx body size follows maxBodySize, rounded up to MiB", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeAll, proxyv1.ControllerNginx, proxyv1.TLSAtIngress)
		p.Spec.Ingress.MaxBodySize = ptr.To(resource.MustParse("40M"))
		if got := ingressAnnotations(p, RoleAll)["nginx.ingress.kubernetes.io/proxy-body-size"]; got != "39m" {
			t.Errorf("proxy-body-size = %q, want 39m (40M is 38.1MiB)", got)
		}
	})
	t.Run("the user's annotation wins over the preset's", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeAll, proxyv1.ControllerNginx, proxyv1.TLSAtIngress)
		p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{"nginx.ingress.kubernetes.io/proxy-body-size": "100m"}
		if got := ingressAnnotations(p, RoleAll)["nginx.ingress.kubernetes.io/proxy-body-size"]; got != "100m" {
			t.Errorf("proxy-body-size = %q, want the user's 100m", got)
		}
	})
	t.Run("cert-manager issuer", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeSplit, proxyv1.ControllerGeneric, proxyv1.TLSAtIngress)
		p.Spec.TLS.CertManager = &proxyv1.CertManagerIssuer{Kind: "ClusterIssuer", Name: "letsencrypt"}
		for _, role := range []string{RolePublic, RolePrivate} {
			if got := ingressAnnotations(p, role)["cert-manager.io/cluster-issuer"]; got != "letsencrypt" {
				t.Errorf("%s: cluster-issuer = %q", role, got)
			}
		}
		p.Spec.TLS.CertManager.Kind = "Issuer"
		if got := ingressAnnotations(p, RolePublic)["cert-manager.io/issuer"]; got != "letsencrypt" {
			t.Errorf("issuer = %q", got)
		}
	})
	t.Run("source ranges only on the private Ingress", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeSplit, proxyv1.ControllerHAProxy, proxyv1.TLSAtIngress)
		if got := ingressAnnotations(p, RolePrivate)["haproxy.org/allow-list"]; got != "10.0.0.0/8,192.168.0.0/16" {
			t.Errorf("private allow-list = %q", got)
		}
		if _, ok := ingressAnnotations(p, RolePublic)["haproxy.org/allow-list"]; ok {
			t.Error("the public Ingress got the allow-list")
		}
	})
	t.Run("no alias of a source-range annotation opens the private Ingress", func(t *testing.T) {
		for _, tt := range []struct {
			controller   proxyv1.IngressController
			guard, alias string
		}{
			{proxyv1.ControllerNginx, "nginx.ingress.kubernetes.io/whitelist-source-range", "nginx.ingress.kubernetes.io/allowlist-source-range"},
			{proxyv1.ControllerHAProxy, "haproxy.org/allow-list", "haproxy.org/whitelist"},
		} {
			p := ingressProxy(proxyv1.ExposeSplit, tt.controller, proxyv1.TLSAtIngress)
			p.Spec.Ingress.Annotations = map[string]proxyv1.AnnotationValue{tt.alias: "0.0.0.0/0", tt.guard: "0.0.0.0/0"}
			private := ingressAnnotations(p, RolePrivate)
			if _, ok := private[tt.alias]; ok || private[tt.guard] != "10.0.0.0/8,192.168.0.0/16" {
				t.Errorf("%s private: %s=%q, %s=%q; want only the spec's source ranges", tt.controller, tt.alias, private[tt.alias], tt.guard, private[tt.guard])
			}
			if got := ingressAnnotations(p, RolePublic)[tt.alias]; got != "0.0.0.0/0" {
				t.Errorf("%s public: %s=%q, want the user's value", tt.controller, tt.alias, got)
			}
		}
	})
	t.Run("generic writes no controller annotation", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeSplit, proxyv1.ControllerGeneric, proxyv1.TLSAtIngress)
		if got := ingressAnnotations(p, RolePrivate); len(got) != 0 {
			t.Errorf("annotations = %v", got)
		}
	})
}

func TestServedHosts(t *testing.T) {
	at := func(name, ns string, minute int, hosts ...proxyv1.Hostname) proxyv1.PostHogProxy {
		p := newProxy()
		p.Name, p.Namespace, p.UID = name, ns, types.UID("uid-"+typesUID(ns, name))
		p.CreationTimestamp = mTime(minute)
		p.Spec.Hosts = hosts
		return *p
	}
	serving := func(p proxyv1.PostHogProxy, hosts ...string) proxyv1.PostHogProxy {
		p.Status.Ingresses = []proxyv1.IngressStatus{{Name: p.Name, Role: RoleAll, Hosts: hosts, Paths: []string{"/"}}}
		return p
	}
	me := at("posthog", "analytics", 5, "posthog.example.com", "eu.posthog.example.com")
	for _, tt := range []struct {
		name       string
		me         proxyv1.PostHogProxy
		others     []proxyv1.PostHogProxy
		wantServed []string
		wantLost   string
	}{
		{"alone", me, nil, []string{"posthog.example.com", "eu.posthog.example.com"}, ""},
		{"another host", me, []proxyv1.PostHogProxy{at("other", "x", 1, "other.example.com")},
			[]string{"posthog.example.com", "eu.posthog.example.com"}, ""},
		{"an older one holds one host: the other host is still served", me, []proxyv1.PostHogProxy{at("old", "team-a", 1, "eu.posthog.example.com")},
			[]string{"posthog.example.com"}, "host eu.posthog.example.com is already served by PostHogProxy team-a/old"},
		{"a younger one does not win", me, []proxyv1.PostHogProxy{at("young", "team-b", 9, "posthog.example.com")},
			[]string{"posthog.example.com", "eu.posthog.example.com"}, ""},
		{"same age: the first by namespace/name", me, []proxyv1.PostHogProxy{at("a", "aaa", 5, "posthog.example.com")},
			[]string{"eu.posthog.example.com"}, "already served by PostHogProxy aaa/a"},
		{"serving beats age: an older one adding a host takes nothing", serving(me, "posthog.example.com"),
			[]proxyv1.PostHogProxy{at("old", "team-a", 1, "posthog.example.com")},
			[]string{"posthog.example.com", "eu.posthog.example.com"}, ""},
		{"a younger one that serves the host keeps it", me,
			[]proxyv1.PostHogProxy{serving(at("young", "team-b", 9, "posthog.example.com"), "posthog.example.com")},
			[]string{"eu.posthog.example.com"}, "already served by PostHogProxy team-b/young"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served, lost := ServedHosts(&tt.me, append(tt.others, tt.me))
			if !slices.Equal(served, tt.wantServed) {
				t.Errorf("served = %v, want %v", served, tt.wantServed)
			}
			switch {
			case tt.wantLost == "" && lost != nil:
				t.Errorf("conflict %q, want none", lost.Message)
			case tt.wantLost != "" && (lost == nil || lost.Reason != proxyv1.ReasonHostConflict || !strings.Contains(lost.Message, tt.wantLost)):
				t.Errorf("conflict = %+v, want HostConflict saying %q", lost, tt.wantLost)
			}
		})
	}
}

// A chain: A holds h1; B wants h1 and h2; C wants h2. B serves h2 (it is
// older than C), so h2 is served and C's message names who serves it.
func TestServedHostsChain(t *testing.T) {
	mk := func(name string, minute int, hosts ...proxyv1.Hostname) proxyv1.PostHogProxy {
		p := newProxy()
		p.Name, p.UID, p.CreationTimestamp, p.Spec.Hosts = name, types.UID(name), mTime(minute), hosts
		return *p
	}
	a, b, c := mk("a", 1, "h1.example.com"), mk("b", 2, "h1.example.com", "h2.example.com"), mk("c", 3, "h2.example.com")
	all := []proxyv1.PostHogProxy{a, b, c}
	if served, _ := ServedHosts(&b, all); !slices.Equal(served, []string{"h2.example.com"}) {
		t.Errorf("b serves %v, want h2 only", served)
	}
	if served, lost := ServedHosts(&c, all); len(served) != 0 || lost == nil || !strings.Contains(lost.Message, "served by PostHogProxy analytics/b") {
		t.Errorf("c serves %v (%v), want nothing, told that b serves h2", served, lost)
	}
}

func typesUID(ns, name string) string { return ns + "-" + name }

func mTime(minute int) metav1.Time {
	return metav1.NewTime(testNow.Add(time.Duration(minute) * time.Minute))
}
