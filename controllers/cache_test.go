package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

func TestCacheKeepsWhatTheOperatorReads(t *testing.T) {
	deleted := metav1.Now()
	meta := metav1.ObjectMeta{
		Name: "posthog-web", Namespace: "analytics", UID: "u1", ResourceVersion: "42", Generation: 3, DeletionTimestamp: &deleted,
		Labels:      map[string]string{"app": "posthog", discoveryv1.LabelServiceName: "ingress"},
		Annotations: map[string]string{desired.PatchedByAnnotation: "posthog", "kubectl.kubernetes.io/last-applied-configuration": "{...}"},
		ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "helm", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}},
			{Manager: desired.FieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}},
		},
		OwnerReferences: []metav1.OwnerReference{{Name: "owner"}},
	}
	identityOnly := metav1.ObjectMeta{Name: "posthog-web", Namespace: "analytics", UID: "u1", ResourceVersion: "42", Generation: 3, DeletionTimestamp: &deleted}

	t.Run("Deployment metadata", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			in   metav1.ObjectMeta
			want metav1.ObjectMeta
		}{
			{"patched by the operator", meta, func() metav1.ObjectMeta {
				m := identityOnly
				m.Annotations = map[string]string{desired.PatchedByAnnotation: "posthog"}
				m.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: desired.FieldManager, Operation: metav1.ManagedFieldsOperationApply}}
				return m
			}()},
			{"someone else's", func() metav1.ObjectMeta {
				m := *meta.DeepCopy()
				m.Annotations, m.ManagedFields = map[string]string{"a": "b"}, m.ManagedFields[:1]
				return m
			}(), identityOnly},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got := trimDeploymentMetadata(&metav1.PartialObjectMetadata{ObjectMeta: tt.in})
				if diff := cmp.Diff(tt.want, got.ObjectMeta); diff != "" {
					t.Errorf("trimmed metadata (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("EndpointSlice", func(t *testing.T) {
		in := &discoveryv1.EndpointSlice{ObjectMeta: meta, AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints: []discoveryv1.Endpoint{{
				Addresses:  []string{"fd00::1"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)},
				NodeName:   ptr.To("node-1"), Zone: ptr.To("a"),
			}},
			Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
		}
		want := &discoveryv1.EndpointSlice{ObjectMeta: identityOnly, AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"fd00::1"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false), Terminating: ptr.To(true)}}}}
		want.Labels = map[string]string{discoveryv1.LabelServiceName: "ingress"}
		if diff := cmp.Diff(want, trimEndpointSlice(in)); diff != "" {
			t.Errorf("trimmed EndpointSlice (-want +got):\n%s", diff)
		}
	})

	t.Run("other types pass unchanged", func(t *testing.T) {
		in := &discoveryv1.EndpointSliceList{}
		if got, err := trimmed(trimEndpointSlice)(in); err != nil || got != any(in) {
			t.Errorf("got %v, %v", got, err)
		}
	})
}
