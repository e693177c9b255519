package controllers

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

func TestRejectedStallsOnlyInvalidObjects(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, "posthog",
		field.ErrorList{field.Invalid(field.NewPath("spec", "rules").Index(0).Child("host"), "x", "must be a DNS name")})
	var problem *desired.Problem
	if err := rejected("Ingress", "posthog", invalid); !errors.As(err, &problem) || problem.Reason != proxyv1.ReasonRejected ||
		!strings.Contains(problem.Message, "the API server rejected Ingress posthog") || !strings.Contains(problem.Message, "spec.rules[0].host") {
		t.Errorf("rejected(invalid) = %v, want a Rejected problem naming the object and the field", err)
	}
	timeout := apierrors.NewTimeoutError("etcd", 1)
	if err := rejected("Ingress", "posthog", timeout); err != timeout {
		t.Errorf("rejected(timeout) = %v, want the error unchanged so it is retried", err)
	}
	if err := rejected("Ingress", "posthog", nil); err != nil {
		t.Errorf("rejected(nil) = %v", err)
	}
}

func TestConflictProblemNamesFieldAndManager(t *testing.T) {
	conflict := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 409, Reason: metav1.StatusReasonConflict,
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{
			Type:    metav1.CauseTypeFieldManagerConflict,
			Message: `conflict with "helm" using apps/v1`,
			Field:   `.spec.template.spec.containers[name="web"].env[name="ALLOWED_HOSTS"].value`,
		}}},
	}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "posthog-web"}}
	p := conflictProblem(d, conflict)
	if p == nil || p.Reason != proxyv1.ReasonFieldConflict || !strings.Contains(p.Message, `env[name="ALLOWED_HOSTS"].value (conflict with "helm"`) ||
		!strings.Contains(p.Message, "or set spec.allowedHosts to Unmanaged") {
		t.Errorf("conflictProblem = %+v", p)
	}
	if p := conflictProblem(d, apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "posthog-web", errors.New("resourceVersion"))); p != nil {
		t.Errorf("an optimistic-lock conflict is not a field conflict, got %+v", p)
	}
}
