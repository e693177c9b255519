package desired_test

import (
	"strings"
	"testing"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/posthog-operator/posthog-proxy-operator/controllers/render"
)

// admission checks a PostHogProxy the way the API server does on create:
// render.Admit (the embedded CRD's defaults, schema, list types and CEL
// rules), and a DNS-subdomain name in a DNS-label namespace, which
// render.Read leaves out since it names the object itself;
// TestFuzzAdmissionAgreesWithRender holds the two together on documents
// both judge.
type admission struct{}

func loadAdmission(testing.TB) admission { return admission{} }

// admit defaults obj in place and says why the API server would refuse it.
func (admission) admit(obj map[string]any) error {
	var errs field.ErrorList
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	for _, msg := range apivalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, msg))
	}
	for _, msg := range apivalidation.ValidateNamespaceName(namespace, false) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), namespace, msg))
	}
	return append(errs, render.Admit(obj)...).ToAggregate()
}

func TestFuzzAdmissionAgreesWithRender(t *testing.T) {
	a := loadAdmission(t)
	base := `apiVersion: proxy.posthog-operator.io/v1alpha1
kind: PostHogProxy
metadata: {name: posthog, namespace: analytics}
spec:
  targets: [{name: posthog-web}]
  hosts: [posthog.example.com]
  tls: {termination: None}
  ingress: {service: {name: web, port: {number: 8000}}}
`
	for _, tt := range []struct {
		trusted string
		admit   bool
	}{
		{`{addresses: [10.0.0.1, "2001:db8::/32"]}`, true},
		{`{addresses: [10.1.2.3/8]}`, false},
		{`{addresses: ["::ffff:10.0.0.1"]}`, false},
		{`{policy: TrustAll, addresses: [10.0.0.1]}`, false},
		{`{presets: [cloudflare], matching: Network}`, true},
	} {
		doc := base + "  trustedProxies: " + tt.trusted + "\n"
		_, renderErr := render.Read(strings.NewReader(doc), "analytics")
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		admitErr := a.admit(normalizeNumbers(obj).(map[string]any))
		if (renderErr == nil) != tt.admit || (admitErr == nil) != tt.admit {
			t.Errorf("%s: render.Read: %v; admission: %v; want admitted %v", tt.trusted, renderErr, admitErr, tt.admit)
		}
	}
}

// normalizeNumbers turns the float64 of a YAML/JSON decode into int64, as
// the API server's decoder does for integers.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalizeNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalizeNumbers(x)
		}
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	}
	return v
}
