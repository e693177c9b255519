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
					for _, plan := range IngressPlans(proxy) {
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
		for _, p := range IngressPlans(proxy) {
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
	plan := IngressPlans(proxy)[0]
	wantPaths := []string{"/api/early_access_features", "/api/surveys", "/array", "/batch", "/capture", "/decide", "/e", "/engage",
		"/flags", "/i", "/s", "/static/array.js", "/static/dead-clicks-autocapture.js", "/static/exception-autocapture.js",
		"/static/lazy-recorder.js", "/static/recorder-v2.js", "/static/recorder.js", "/static/surveys.js", "/static/toolbar.js",
		"/static/tracing-headers.js", "/static/web-vitals.js", "/track"}
	if !slices.Equal(plan.Paths, wantPaths) {
		t.Fatalf("paths = %v, want %v", plan.Paths, wantPaths)
	}
	matches := func(preset ingressPreset, request string) bool {
		for _, p := range plan.Paths {
			for _, rule := range preset.pathRules(p) {
				if ingressMatches(rule, request) {
					return true
				}
			}
		}
		return false
	}
	for _, preset := range []ingressPreset{ingressPresets[proxyv1.ControllerNginx], ingressPresets[proxyv1.ControllerGCE]} {
		for request, want := range map[string]bool{
			"/s": true, "/s/": true, "/s/abc": true, "/static": false, "/sx": false,
			"/e": true, "/e/": true, "/engage": true, "/engagex": false, "/i/v0/e": true, "/flags": true, "/flags/": true,
			"/decide/": true, "/array/phc_123/config.js": true,
			"/static/array.js": true, "/static/array.jsx": false, "/static/array.js/x": false, "/static/other.js": false,
			"/api/surveys": true, "/api/surveys/42": true, "/api/projects": false, "/": false, "/login": false,
			"/static/lazy-recorder.js": true, "/static/main.js": false, "/api/early_access_features/": true,
		} {
			if got := matches(preset, request); got != want {
				t.Errorf("globPaths=%v: %s matched = %v, want %v", preset.globPaths, request, got, want)
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
		p.Spec.Ingress.Annotations = map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "100m"}
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
	t.Run("generic writes no controller annotation", func(t *testing.T) {
		p := ingressProxy(proxyv1.ExposeSplit, proxyv1.ControllerGeneric, proxyv1.TLSAtIngress)
		if got := ingressAnnotations(p, RolePrivate); len(got) != 0 {
			t.Errorf("annotations = %v", got)
		}
	})
}

func TestHostConflict(t *testing.T) {
	at := func(name, ns string, minute int, hosts ...proxyv1.Hostname) proxyv1.PostHogProxy {
		p := newProxy()
		p.Name, p.Namespace, p.UID = name, ns, types.UID("uid-"+typesUID(ns, name))
		p.CreationTimestamp = mTime(minute)
		p.Spec.Hosts = hosts
		return *p
	}
	me := at("posthog", "analytics", 5, "posthog.example.com", "eu.posthog.example.com")
	for _, tt := range []struct {
		name   string
		others []proxyv1.PostHogProxy
		want   string
	}{
		{"alone", nil, ""},
		{"another host", []proxyv1.PostHogProxy{at("other", "x", 1, "other.example.com")}, ""},
		{"an older one holds a host", []proxyv1.PostHogProxy{at("old", "team-a", 1, "eu.posthog.example.com")},
			"host eu.posthog.example.com is already served by PostHogProxy team-a/old"},
		{"a younger one does not win", []proxyv1.PostHogProxy{at("young", "team-b", 9, "posthog.example.com")}, ""},
		{"same age: the first by namespace/name", []proxyv1.PostHogProxy{at("a", "aaa", 5, "posthog.example.com")},
			"already served by PostHogProxy aaa/a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := HostConflict(&me, append(tt.others, me))
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("conflict %q, want none", got.Message)
			case tt.want != "" && (got == nil || got.Reason != proxyv1.ReasonHostConflict || !strings.Contains(got.Message, tt.want)):
				t.Errorf("conflict = %+v, want HostConflict saying %q", got, tt.want)
			}
		})
	}
}

func typesUID(ns, name string) string { return ns + "-" + name }

func mTime(minute int) metav1.Time {
	return metav1.NewTime(testNow.Add(time.Duration(minute) * time.Minute))
}
