package desired

import (
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// Ingress routes every spec.hosts entry to the PostHog web Service, with a
// TLS section when TLS ends at the ingress controller.
func Ingress(proxy *proxyv1.PostHogProxy) *networkingv1ac.IngressApplyConfiguration {
	spec := proxy.Spec
	ing := networkingv1ac.Ingress(IngressName(proxy), proxy.Namespace).
		WithLabels(childLabels(proxy)).
		WithOwnerReferences(ownerReference(proxy))
	if len(spec.Ingress.Annotations) > 0 {
		ing.WithAnnotations(spec.Ingress.Annotations)
	}

	ingSpec := networkingv1ac.IngressSpec()
	if spec.Ingress.ClassName != "" {
		ingSpec.WithIngressClassName(spec.Ingress.ClassName)
	}
	hosts := make([]string, len(spec.Hosts))
	for i, host := range spec.Hosts {
		hosts[i] = string(host)
		ingSpec.WithRules(networkingv1ac.IngressRule().
			WithHost(hosts[i]).
			WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(
				networkingv1ac.HTTPIngressPath().
					WithPath("/").
					WithPathType(networkingv1.PathTypePrefix).
					WithBackend(backend(spec.Ingress.Service)))))
	}
	if spec.TLS.Termination == proxyv1.TLSAtIngress {
		ingSpec.WithTLS(networkingv1ac.IngressTLS().WithHosts(hosts...).WithSecretName(spec.TLS.SecretName))
	}
	return ing.WithSpec(ingSpec)
}

func backend(svc proxyv1.BackendService) *networkingv1ac.IngressBackendApplyConfiguration {
	port := networkingv1ac.ServiceBackendPort()
	if svc.Port.Name != "" {
		port.WithName(svc.Port.Name)
	} else {
		port.WithNumber(svc.Port.Number)
	}
	return networkingv1ac.IngressBackend().WithService(
		networkingv1ac.IngressServiceBackend().WithName(svc.Name).WithPort(port))
}
