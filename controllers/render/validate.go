// Package render computes, with no cluster, exactly the objects and the
// patch the controller would apply for a PostHogProxy: the same validation
// and defaults as the API server (the CRD's schema and CEL rules), then the
// same builders as the controller.
package render

import (
	"context"
	"fmt"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/config/crd"
)

// schema is the PostHogProxy schema of the embedded CRD.
type schema struct {
	internal   *apiextensionsinternal.JSONSchemaProps
	structural *structuralschema.Structural
}

func loadSchema() (*schema, error) {
	def := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crd.PostHogProxy, def); err != nil {
		return nil, fmt.Errorf("reading the embedded CRD: %w", err)
	}
	for _, v := range def.Spec.Versions {
		if v.Name != proxyv1.GroupVersion.Version {
			continue
		}
		internal := &apiextensionsinternal.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
			return nil, err
		}
		structural, err := structuralschema.NewStructural(internal)
		if err != nil {
			return nil, err
		}
		return &schema{internal: internal, structural: structural}, nil
	}
	return nil, fmt.Errorf("the embedded CRD has no version %s", proxyv1.GroupVersion.Version)
}

// defaultAndValidate applies the schema's defaults to a PostHogProxy and
// checks it against the schema, its list types and its CEL rules, as the
// API server does on create.
func (s *schema) defaultAndValidate(obj *unstructured.Unstructured) error {
	structuraldefaulting.Default(obj.Object, s.structural)
	validator, _, err := validation.NewSchemaValidator(s.internal)
	if err != nil {
		return err
	}
	errs := validation.ValidateCustomResource(nil, obj.Object, validator)
	// Duplicates in a set or map list (hosts, targets, presets, ...).
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj.Object)...)
	celErrs, _ := cel.NewValidator(s.structural, true, celconfig.PerCallLimit).
		Validate(context.Background(), nil, s.structural, obj.Object, nil, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	if len(errs) > 0 {
		return fmt.Errorf("PostHogProxy %s is invalid: %w", obj.GetName(), errs.ToAggregate())
	}
	return nil
}
