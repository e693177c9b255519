// Package render computes, with no cluster, exactly the objects and the
// patch the controller would apply for a PostHogProxy: the same validation
// and defaults as the API server (the CRD's schema and CEL rules), then the
// same builders as the controller.
package render

import (
	"context"
	"fmt"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/config/crd"
)

// schema is the PostHogProxy schema of the embedded CRD, with its
// validators compiled.
type schema struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

// loadSchema compiles the embedded CRD's schema and CEL rules once: about
// 60 ms, which a tool that validates many objects pays only the first time.
var loadSchema = sync.OnceValues(func() (*schema, error) {
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
		validator, _, err := validation.NewSchemaValidator(internal)
		if err != nil {
			return nil, err
		}
		return &schema{structural: structural, validator: validator,
			cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
	}
	return nil, fmt.Errorf("the embedded CRD has no version %s", proxyv1.GroupVersion.Version)
})

// Admit applies the schema's defaults to a PostHogProxy, given as decoded
// JSON, and checks it against the schema, its list types and its CEL rules,
// as the API server does on create; the metadata is not checked.
func Admit(obj map[string]any) field.ErrorList {
	s, err := loadSchema()
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	structuraldefaulting.Default(obj, s.structural)
	errs := validation.ValidateCustomResource(nil, obj, s.validator)
	// Duplicates in a set or map list (hosts, targets, presets, ...).
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

func defaultAndValidate(obj *unstructured.Unstructured) error {
	// The API server checks the metadata of every object as it checks a
	// Deployment's: a name and namespace that are DNS names, valid labels
	// and annotations.
	meta := &metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), Labels: obj.GetLabels(), Annotations: obj.GetAnnotations()}
	errs := apivalidation.ValidateObjectMeta(meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if errs = append(errs, Admit(obj.Object)...); len(errs) > 0 {
		return fmt.Errorf("PostHogProxy %q is invalid: %w", obj.GetName(), errs.ToAggregate())
	}
	return nil
}
