package desired_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/config/crd"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/render"
)

// admission checks a PostHogProxy the way the API server does on create:
// the embedded CRD's defaults, OpenAPI schema, list-type (set and map)
// uniqueness and CEL rules, and a DNS-subdomain name in a DNS-label
// namespace. It is what controllers/render does (validate.go), compiled
// once: render.Read loads the CRD and compiles every CEL rule per call,
// about 60 ms, too slow to filter fuzz inputs. render.Read leaves out the
// metadata checks, since it names the object itself;
// TestFuzzAdmissionAgreesWithRender holds the two together on documents
// both judge.
type admission struct {
	internal   *apiextensionsinternal.JSONSchemaProps
	structural *structuralschema.Structural
	schema     schemavalidation.SchemaValidator
	cel        *cel.Validator
}

var (
	admissionOnce sync.Once
	theAdmission  *admission
	admissionErr  error
)

func loadAdmission(t testing.TB) *admission {
	t.Helper()
	admissionOnce.Do(func() {
		def := &apiextensionsv1.CustomResourceDefinition{}
		if admissionErr = yaml.UnmarshalStrict(crd.PostHogProxy, def); admissionErr != nil {
			return
		}
		for _, v := range def.Spec.Versions {
			if v.Name != proxyv1.GroupVersion.Version {
				continue
			}
			a := &admission{internal: &apiextensionsinternal.JSONSchemaProps{}}
			if admissionErr = apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, a.internal, nil); admissionErr != nil {
				return
			}
			if a.structural, admissionErr = structuralschema.NewStructural(a.internal); admissionErr != nil {
				return
			}
			if a.schema, _, admissionErr = schemavalidation.NewSchemaValidator(a.internal); admissionErr != nil {
				return
			}
			a.cel = cel.NewValidator(a.structural, true, celconfig.PerCallLimit)
			theAdmission = a
			return
		}
		admissionErr = fmt.Errorf("the embedded CRD has no version %s", proxyv1.GroupVersion.Version)
	})
	if admissionErr != nil {
		t.Fatal(admissionErr)
	}
	return theAdmission
}

// admit defaults obj in place and says why the API server would refuse it.
func (a *admission) admit(obj map[string]any) error {
	structuraldefaulting.Default(obj, a.structural)
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
	errs = append(errs, schemavalidation.ValidateCustomResource(nil, obj, a.schema)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, a.structural, obj)...)
	if len(errs) == 0 {
		errs, _ = a.cel.Validate(context.Background(), nil, a.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	}
	return errs.ToAggregate()
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
