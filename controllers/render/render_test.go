package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

var update = flag.Bool("update", false, "rewrite testdata/samples.yaml")

func samples(t *testing.T) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	for _, f := range []string{"ingress-nginx.yaml", "posthog-web.yaml", "proxy_v1alpha1_posthogproxy.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", f))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteString("\n---\n")
	}
	return &b
}

// The samples render to a fixed, reviewed result.
func TestRenderSamplesGolden(t *testing.T) {
	in, err := Read(samples(t), "posthog")
	if err != nil {
		t.Fatal(err)
	}
	presets, err := trust.BuiltInPresets()
	if err != nil {
		t.Fatal(err)
	}
	out := Render(in, presets, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	if len(out.Problems) != 0 {
		t.Errorf("problems: %v", out.Problems)
	}
	got, err := out.YAML()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "samples.yaml")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("render of the samples differs from %s; if meant, run with -update and review:\n%s", file, got)
	}
}

// Invalid input is refused with the CRD's own messages, before anything is
// rendered.
func TestRenderRefusesWhatTheAPIServerRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"a /0 network", strings.Replace(proxyYAML, "10.0.0.7", "0.0.0.0/0", 1), "spec.trustedProxies.addresses must not hold a /0 network"},
		{"a CIDR host", strings.Replace(proxyYAML, "posthog.example.com", "10.0.0.1", 1), "spec.hosts entries must end in a name, not a number"},
		{"trust-all with addresses", strings.Replace(proxyYAML, "addresses:", "policy: TrustAll\n    addresses:", 1),
			"must be empty when spec.trustedProxies.policy is TrustAll"},
		{"a snippet annotation", proxyYAML + "    annotations:\n      nginx.ingress.kubernetes.io/server-snippet: x\n",
			"spec.ingress.annotations must not inject configuration"},
		{"a port as a string", strings.Replace(proxyYAML, "number: 8000", "number: \"8000\"", 1), "spec.ingress.service.port.number"},
		{"a duplicate host", strings.Replace(proxyYAML, "hosts: [posthog.example.com]", "hosts: [posthog.example.com, posthog.example.com]", 1),
			`spec.hosts[1]: Duplicate value: "posthog.example.com"`},
		{"no PostHogProxy", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", "the input holds no PostHogProxy"},
		{"two PostHogProxies", proxyYAML + "---\n" + proxyYAML, "more than one PostHogProxy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.yaml), "posthog")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// What the controller would report rather than apply is said, not hidden.
func TestRenderReportsProblems(t *testing.T) {
	in, err := Read(strings.NewReader(proxyYAML), "posthog")
	if err != nil {
		t.Fatal(err)
	}
	out := Render(in, nil, time.Now())
	if len(out.Problems) != 1 || !strings.Contains(out.Problems[0], "TargetNotFound: Deployment posthog/posthog-web does not exist") {
		t.Errorf("problems = %v", out.Problems)
	}
	if out.ConfigMap == nil || len(out.Ingresses) != 1 || len(out.Deployments) != 0 {
		t.Errorf("rendered %v ConfigMap, %d Ingresses, %d patches", out.ConfigMap != nil, len(out.Ingresses), len(out.Deployments))
	}
}

const proxyYAML = `apiVersion: proxy.posthog-operator.io/v1alpha1
kind: PostHogProxy
metadata:
  name: posthog
spec:
  targets: [{name: posthog-web}]
  hosts: [posthog.example.com]
  tls: {termination: None}
  trustedProxies:
    addresses:
      - 10.0.0.7
  ingress:
    service:
      name: posthog-web
      port:
        number: 8000
`

// kubectl get -o yaml of several objects gives a List; its items count.
func TestRenderReadsLists(t *testing.T) {
	list := "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(proxyYAML), "\n", "\n  ") + "\n"
	in, err := Read(strings.NewReader(list), "posthog")
	if err != nil || in.Proxy == nil || in.Proxy.Name != "posthog" {
		t.Fatalf("Read(List) = %+v, %v", in.Proxy, err)
	}
}
