package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Input is what render reads: one PostHogProxy, its target Deployments,
// and for discovered trusted proxies the EndpointSlices (and, for a Service
// with none, the Service itself).
type Input struct {
	Proxy          *proxyv1.PostHogProxy
	Deployments    []appsv1.Deployment
	EndpointSlices []discoveryv1.EndpointSlice
	Services       []corev1.Service
}

// Read reads YAML or JSON documents. The PostHogProxy is defaulted and
// validated as the API server would: an invalid one is an error naming the
// field and the rule.
// Objects that name no namespace are in namespace, as with kubectl apply.
func Read(r io.Reader, namespace string) (Input, error) {
	if _, err := loadSchema(); err != nil {
		return Input{}, err
	}
	var in Input
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return Input{}, fmt.Errorf("reading the input: %w", err)
		}
		data, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return Input{}, fmt.Errorf("reading the input: %w", err)
		}
		if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
			continue
		}
		// The unstructured JSON decoder keeps integers as integers, as the
		// API server does; the schema checks types.
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(data); err != nil {
			return Input{}, fmt.Errorf("reading the input: %w", err)
		}
		// kubectl get -o yaml of several objects gives a List.
		items := []*unstructured.Unstructured{obj}
		if obj.IsList() {
			items = nil
			if err := obj.EachListItem(func(o runtime.Object) error {
				items = append(items, o.(*unstructured.Unstructured))
				return nil
			}); err != nil {
				return Input{}, fmt.Errorf("reading the input: %w", err)
			}
		}
		for _, item := range items {
			if item.GetNamespace() == "" {
				item.SetNamespace(namespace)
			}
			if err := in.add(item); err != nil {
				return Input{}, err
			}
		}
	}
	if in.Proxy == nil {
		return Input{}, errors.New("the input holds no PostHogProxy")
	}
	return in, nil
}

func (in *Input) add(obj *unstructured.Unstructured) error {
	switch obj.GroupVersionKind() {
	case proxyv1.GroupVersion.WithKind("PostHogProxy"):
		if in.Proxy != nil {
			return errors.New("the input holds more than one PostHogProxy; render takes one at a time")
		}
		if err := defaultAndValidate(obj); err != nil {
			return err
		}
		in.Proxy = &proxyv1.PostHogProxy{}
		return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, in.Proxy)
	case appsv1.SchemeGroupVersion.WithKind("Deployment"):
		d := appsv1.Deployment{}
		in.Deployments = append(in.Deployments, d)
		return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &in.Deployments[len(in.Deployments)-1])
	case discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"):
		in.EndpointSlices = append(in.EndpointSlices, discoveryv1.EndpointSlice{})
		return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &in.EndpointSlices[len(in.EndpointSlices)-1])
	case corev1.SchemeGroupVersion.WithKind("Service"):
		in.Services = append(in.Services, corev1.Service{})
		return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &in.Services[len(in.Services)-1])
	}
	return nil // anything else is not the renderer's concern
}

// Output is what the controller would apply, and what it would report.
type Output struct {
	ConfigMap   *corev1ac.ConfigMapApplyConfiguration
	Ingresses   []*networkingv1ac.IngressApplyConfiguration
	Deployments []*appsv1ac.DeploymentApplyConfiguration
	// Problems are what the controller would report instead of applying.
	Problems []string
}

// Render computes the output with the controller's own builders, for a
// PostHogProxy seen for the first time (no status, no published list).
func Render(in Input, presets trust.Presets, now time.Time) Output {
	proxy := in.Proxy
	var out Output
	proxies := desired.TrustedProxyList(proxy, desired.ProxyInputs{Now: now, Presets: presets, Services: in.serviceEndpoints(proxy)})
	if proxies.Blocked != nil {
		out.Problems = append(out.Problems, proxies.Blocked.Reason+": "+proxies.Blocked.Message)
	} else {
		out.ConfigMap = desired.ConfigMap(proxy, proxies)
		if proxies.Unmatchable != nil {
			out.Problems = append(out.Problems, proxies.Unmatchable.Reason+": "+proxies.Unmatchable.Message)
		}
	}
	// Alone, as render sees it, the resource serves all its hosts.
	hosts, _ := desired.ServedHosts(proxy, []proxyv1.PostHogProxy{*proxy})
	for _, plan := range desired.IngressPlans(proxy, hosts) {
		out.Ingresses = append(out.Ingresses, desired.Ingress(proxy, plan))
	}
	if out.ConfigMap == nil {
		return out
	}
	listHash := desired.PlanRollout(proxy, proxies.List.Hash(), now).Hash
	for _, target := range proxy.Spec.Targets {
		seen := desired.Observed{Deployment: in.deployment(proxy.Namespace, target.Name)}
		containers, problem := desired.ResolveContainers(proxy, target, seen)
		if problem != nil {
			out.Problems = append(out.Problems, problem.Reason+": "+problem.Message)
			continue
		}
		shared := desired.SharedEnv(proxy, seen.Deployment, containers, nil)
		out.Deployments = append(out.Deployments, desired.DeploymentPatch(proxy, target.Name, containers, listHash, shared))
	}
	return out
}

func (in Input) deployment(namespace, name string) *appsv1.Deployment {
	for i := range in.Deployments {
		if d := &in.Deployments[i]; d.Name == name && (d.Namespace == "" || d.Namespace == namespace) {
			return d
		}
	}
	return nil
}

func (in Input) serviceEndpoints(proxy *proxyv1.PostHogProxy) map[proxyv1.ServiceReference]desired.ServiceEndpoints {
	out := map[proxyv1.ServiceReference]desired.ServiceEndpoints{}
	for _, ref := range proxy.Spec.TrustedProxies.Services {
		var slices []discoveryv1.EndpointSlice
		for _, s := range in.EndpointSlices {
			if s.Namespace == ref.Namespace && s.Labels[discoveryv1.LabelServiceName] == ref.Name {
				slices = append(slices, s)
			}
		}
		found := len(slices) > 0
		for _, svc := range in.Services {
			found = found || (svc.Namespace == ref.Namespace && svc.Name == ref.Name)
		}
		out[ref] = desired.ServiceEndpoints{Found: found, Ready: trust.ReadyAddresses(slices)}
	}
	return out
}

// YAML writes the output as YAML documents, the ConfigMap first, then the
// Ingresses, then the Deployment patches.
func (o Output) YAML() ([]byte, error) {
	var docs []any
	if o.ConfigMap != nil {
		docs = append(docs, o.ConfigMap)
	}
	for _, i := range o.Ingresses {
		docs = append(docs, i)
	}
	for _, d := range o.Deployments {
		docs = append(docs, d)
	}
	var b bytes.Buffer
	for i, doc := range docs {
		data, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}
