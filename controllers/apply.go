package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// applyIfChanged server-side applies want unless owned — the fields the
// operator already owns on the live object, extracted from its
// managedFields — says the same, so that a reconcile with nothing to change
// writes nothing. owned is nil when there is nothing to compare with.
func applyIfChanged(ctx context.Context, c client.Client, want, owned runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if owned != nil {
		if same, err := sameJSON(owned, want); err != nil {
			return err
		} else if same {
			return nil
		}
	}
	return c.Apply(ctx, want, append([]client.ApplyOption{client.FieldOwner(desired.FieldManager)}, opts...)...)
}

// extracted is the result of an Extract<Kind> call as applyIfChanged takes
// it. An object the extraction cannot read (the API server stores some
// that its own schema would refuse, such as duplicate env names) is applied
// without comparing: the server accepts the apply.
func extracted[T runtime.ApplyConfiguration](ctx context.Context, owned T, err error) runtime.ApplyConfiguration {
	if err != nil {
		logf.FromContext(ctx).V(1).Info("cannot read the operator's fields on the live object; applying without comparing", "reason", err.Error())
		return nil
	}
	return owned
}

// rejected turns the API server refusing an object as invalid into a
// problem for a person: retrying the same object cannot succeed.
func rejected(kind, name string, err error) error {
	if !apierrors.IsInvalid(err) {
		return err
	}
	return &desired.Problem{Reason: proxyv1.ReasonRejected, Message: fmt.Sprintf(
		"the API server rejected %s %s: %v; change the spec so that it produces a valid object", kind, name, err)}
}

func sameJSON(a, b any) (bool, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return string(ja) == string(jb), nil
}

// conflictProblem turns a server-side apply conflict into a condition that
// names each contested field and the manager that owns it.
func conflictProblem(deployment *appsv1.Deployment, err error) *desired.Problem {
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return nil
	}
	var fields []string
	for _, cause := range status.Status().Details.Causes {
		if cause.Type == metav1.CauseTypeFieldManagerConflict {
			fields = append(fields, fmt.Sprintf("%s (%s)", cause.Field, cause.Message))
		}
	}
	if len(fields) == 0 {
		return nil
	}
	hint := "remove that variable from the other tool's manifest"
	for env, field := range map[string]string{desired.EnvSiteURL: "spec.siteURL", desired.EnvAllowedHosts: "spec.allowedHosts"} {
		if strings.Contains(strings.Join(fields, " "), `env[name="`+env+`"]`) {
			hint += fmt.Sprintf(", or set %s to Unmanaged to leave %s to it", field, env)
		}
	}
	return &desired.Problem{
		Reason: proxyv1.ReasonFieldConflict,
		Message: fmt.Sprintf("Deployment %s: another field manager owns %s; the operator does not overwrite it: %s",
			deployment.Name, strings.Join(fields, ", "), hint),
	}
}
