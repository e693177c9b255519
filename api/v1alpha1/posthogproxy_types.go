package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PostHogProxySpec describes how one PostHog installation is exposed through
// its proxies: where PostHog runs, the public hosts, where TLS ends, which
// proxies PostHog may trust, and the Ingress in front of it.
type PostHogProxySpec struct {
	// targets are the PostHog Deployments, in the same namespace, whose
	// containers receive the proxy settings as environment variables
	// (IS_BEHIND_PROXY, TRUSTED_PROXIES, ALLOWED_HOSTS, ...). The operator
	// only adds its own variables and takes them back on deletion; it never
	// owns the Deployment.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Targets []TargetDeployment `json:"targets"`

	// hosts are the public host names PostHog is served at, for example
	// posthog.example.com. Each becomes an Ingress rule; the first one is
	// the URL reported in status.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Hosts []Hostname `json:"hosts"`

	// allowedHosts says whether the operator sets PostHog's ALLOWED_HOSTS.
	// Hosts (the default) sets it to spec.hosts, so requests that name any
	// other Host are refused. Unmanaged leaves ALLOWED_HOSTS to PostHog's
	// default or to whoever else sets it. Kubelet HTTP probes send the pod
	// IP as Host: with Hosts, give each HTTP probe a Host header.
	// +optional
	// +kubebuilder:default=Hosts
	AllowedHosts AllowedHostsPolicy `json:"allowedHosts,omitempty"`

	// siteURL says whether the operator sets PostHog's SITE_URL, the URL it
	// puts in links, emails and OAuth redirects. PrimaryHost (the default)
	// sets it to the first host with the scheme users see: https unless TLS
	// termination is None. Unmanaged leaves it to whoever else sets it. A
	// tool that already sets the same value shares it without conflict.
	// +optional
	// +kubebuilder:default=PrimaryHost
	SiteURL SiteURLPolicy `json:"siteURL,omitempty"`

	// tls says where TLS ends, which decides the Ingress TLS section and
	// PostHog's redirect and cookie settings.
	// +required
	TLS TLS `json:"tls"`

	// trustedProxies says which proxies PostHog may believe when it reads
	// the client address from X-Forwarded-For.
	// +required
	TrustedProxies TrustedProxies `json:"trustedProxies"`

	// ingress describes the Ingress the operator creates in front of the
	// PostHog web Service.
	// +required
	Ingress IngressSpec `json:"ingress"`
}

// TargetDeployment is a PostHog Deployment and the containers in it that
// serve PostHog's web traffic.
type TargetDeployment struct {
	// name of the Deployment, in the namespace of this PostHogProxy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="spec.targets[].name must be a Deployment name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`

	// containers to patch. When empty, the operator patches the container
	// named by the pod template's kubectl.kubernetes.io/default-container
	// annotation, or the only container; a Deployment with several
	// containers and no such annotation gets a ContainerNotSpecified
	// condition instead of a guess.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	Containers []ContainerName `json:"containers,omitempty"`
}

// ContainerName is the name of a container in the Deployment's pod template.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="spec.targets[].containers entries must be container names: lower-case letters, digits and '-', at most 63 characters"
type ContainerName string

// Hostname is a fully qualified DNS name such as posthog.example.com, without
// scheme, port, path or wildcard.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.hosts entries must be lower-case DNS names such as posthog.example.com, without scheme, port, path or wildcard"
// +kubebuilder:validation:XValidation:rule="self.split('.').all(label, label.size() <= 63)",message="spec.hosts entries must have DNS labels of at most 63 characters between the dots"
// +kubebuilder:validation:XValidation:rule="!self.split('.')[self.split('.').size() - 1].matches('^[0-9]+$')",message="spec.hosts entries must end in a name, not a number: a host such as 10.0.0.1 or 127.1 is an IP address, and Ingress rules need a DNS name"
type Hostname string

// AllowedHostsPolicy says whether the operator manages ALLOWED_HOSTS.
// +kubebuilder:validation:Enum=Hosts;Unmanaged
type AllowedHostsPolicy string

const (
	// AllowedHostsFromHosts sets ALLOWED_HOSTS to spec.hosts.
	AllowedHostsFromHosts AllowedHostsPolicy = "Hosts"
	// AllowedHostsUnmanaged leaves ALLOWED_HOSTS alone.
	AllowedHostsUnmanaged AllowedHostsPolicy = "Unmanaged"
)

// SiteURLPolicy says whether the operator manages SITE_URL.
// +kubebuilder:validation:Enum=PrimaryHost;Unmanaged
type SiteURLPolicy string

const (
	// SiteURLFromPrimaryHost sets SITE_URL from the first host.
	SiteURLFromPrimaryHost SiteURLPolicy = "PrimaryHost"
	// SiteURLUnmanaged leaves SITE_URL alone.
	SiteURLUnmanaged SiteURLPolicy = "Unmanaged"
)

// TLSTermination says where TLS ends on the way to PostHog.
// +kubebuilder:validation:Enum=Ingress;LoadBalancer;None
type TLSTermination string

const (
	// TLSAtIngress: the ingress controller terminates TLS with the
	// certificate in spec.tls.secretName and forwards plain HTTP with
	// X-Forwarded-Proto: https.
	TLSAtIngress TLSTermination = "Ingress"
	// TLSAtLoadBalancer: a load balancer in front of the ingress terminates
	// TLS and talks plain HTTP onward, so PostHog must not redirect to HTTPS
	// itself (that loops forever).
	TLSAtLoadBalancer TLSTermination = "LoadBalancer"
	// TLSNone: no TLS anywhere. PostHog must neither redirect to HTTPS nor
	// mark cookies Secure, or nobody can log in.
	TLSNone TLSTermination = "None"
)

// TLS says where TLS ends.
// +kubebuilder:validation:XValidation:rule="self.termination == 'Ingress' || !has(self.secretName)",message="spec.tls.secretName is only used when spec.tls.termination is Ingress: remove it, or set termination to Ingress"
// +kubebuilder:validation:XValidation:rule="self.termination == 'Ingress' || !has(self.certManager)",message="spec.tls.certManager is only used when spec.tls.termination is Ingress: the certificate then lives on the Ingress"
type TLS struct {
	// termination is where TLS ends: Ingress (the ingress controller, with
	// the certificate in secretName), LoadBalancer (a load balancer in front
	// that forwards plain HTTP), or None (plain HTTP end to end).
	// +required
	Termination TLSTermination `json:"termination"`

	// secretName is the Secret holding the TLS certificate and key for
	// spec.hosts, in this namespace. Required with termination Ingress and
	// not allowed otherwise. The operator never reads the Secret.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="spec.tls.secretName must be a Secret name: lower-case letters, digits, '-' and '.'"
	SecretName string `json:"secretName,omitempty"`

	// certManager asks cert-manager to issue the certificate into
	// secretName, by the issuer annotation on the Ingresses.
	// +optional
	CertManager *CertManagerIssuer `json:"certManager,omitempty"`
}

// CertManagerIssuer names a cert-manager issuer.
type CertManagerIssuer struct {
	// kind of the issuer: ClusterIssuer (the default) or Issuer (in this
	// namespace).
	// +optional
	// +kubebuilder:default=ClusterIssuer
	// +kubebuilder:validation:Enum=ClusterIssuer;Issuer
	Kind string `json:"kind,omitempty"`

	// name of the issuer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="spec.tls.certManager.name must be an issuer name: lower-case letters, digits, '-' and '.'"
	Name string `json:"name"`
}

// TrustPolicy says how PostHog decides which proxies to believe.
// +kubebuilder:validation:Enum=List;TrustAll
type TrustPolicy string

const (
	// TrustListed trusts only the proxies in the list (TRUSTED_PROXIES).
	TrustListed TrustPolicy = "List"
	// TrustAll trusts every peer (TRUST_ALL_PROXIES). Any client can then
	// choose the IP address PostHog records and checks against
	// ALLOWED_IP_BLOCKS.
	TrustAll TrustPolicy = "TrustAll"
)

// TrustedProxies says which proxies PostHog may believe. With policy List,
// the list is the union of the static addresses, the ready endpoints of the
// discovered Services and the presets.
// +kubebuilder:validation:XValidation:rule="self.policy != 'TrustAll' || (!has(self.addresses) && !has(self.services) && !has(self.presets))",message="spec.trustedProxies.addresses, services and presets must be empty when spec.trustedProxies.policy is TrustAll: trusting every proxy and trusting a list are mutually exclusive"
// +kubebuilder:validation:XValidation:rule="self.policy != 'List' || (has(self.addresses) && size(self.addresses) > 0) || (has(self.services) && size(self.services) > 0) || (has(self.presets) && size(self.presets) > 0)",message="spec.trustedProxies needs at least one source when spec.trustedProxies.policy is List: addresses, services (for example the ingress controller's Service) or presets; or set policy to TrustAll (unsafe)"
type TrustedProxies struct {
	// policy is List (the default: trust only the listed sources) or
	// TrustAll (trust every peer, which lets any client choose its own IP
	// address; reported on status as insecure).
	// +optional
	// +kubebuilder:default=List
	Policy TrustPolicy `json:"policy,omitempty"`

	// matching says how the PostHog version in use compares the peer with
	// the entries of TRUSTED_PROXIES. Exact (the default, and what PostHog's
	// proxy guide describes) compares strings, so a range such as
	// 10.0.0.0/8 matches nothing: ranges are then reported and the resource
	// is not Ready. Network treats each entry as a network.
	// +optional
	// +kubebuilder:default=Exact
	Matching MatchingRule `json:"matching,omitempty"`

	// addresses are static entries: the IP addresses, or with matching
	// Network also the ranges, of the proxies PostHog sees as its direct
	// peer or as a later hop in X-Forwarded-For. A range that holds one
	// address (/32, /128) is written as that address.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	Addresses []AddressOrRange `json:"addresses,omitempty"`

	// services are discovered: the ready endpoint addresses (IPv4 and IPv6)
	// behind each Service, typically the ingress controller's, kept in step
	// as its pods come and go.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	Services []ServiceReference `json:"services,omitempty"`

	// presets are named lists shipped with the operator, such as cloudflare
	// (Cloudflare's published IPv4 and IPv6 ranges, which need matching
	// Network). The operator's --presets-file can add or replace presets
	// without an upgrade. Each preset's version is recorded in the ConfigMap
	// and in status.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	Presets []PresetName `json:"presets,omitempty"`

	// rollout says how changes of the list reach PostHog's pods.
	// +optional
	// +kubebuilder:default={}
	Rollout RolloutPolicy `json:"rollout,omitempty"`
}

// MatchingRule says how PostHog compares a peer with TRUSTED_PROXIES.
// +kubebuilder:validation:Enum=Exact;Network
type MatchingRule string

const (
	// MatchExact: entries are compared with the peer address as strings.
	MatchExact MatchingRule = "Exact"
	// MatchNetwork: entries are networks that contain the peer.
	MatchNetwork MatchingRule = "Network"
)

// AddressOrRange is an IPv4 or IPv6 address, such as 10.0.0.7, or a network
// in CIDR form, such as 10.0.0.0/16.
// +kubebuilder:validation:MinLength=2
// +kubebuilder:validation:MaxLength=49
// +kubebuilder:validation:XValidation:rule="isIP(self) || isCIDR(self)",message="spec.trustedProxies.addresses entries must be IP addresses such as 10.0.0.7 or networks such as 10.0.0.0/16; ports, zones and IPv4-mapped IPv6 (write ::ffff:10.0.0.1 as 10.0.0.1) are not accepted"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() > 0",message="spec.trustedProxies.addresses must not hold a /0 network: it trusts every client; set spec.trustedProxies.policy to TrustAll if that is really meant"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).masked() == cidr(self)",message="spec.trustedProxies.addresses networks must be written with their network address, such as 10.0.0.0/8 rather than 10.1.2.3/8"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() == 0 || cidr(self).prefixLength() >= (cidr(self).ip().family() == 4 ? 8 : 16)",message="spec.trustedProxies.addresses networks must be /8 or narrower (IPv4) and /16 or narrower (IPv6): a wider one trusts a large part of the internet"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || !(cidr(self).ip().family() == 4 ? cidr('224.0.0.0/4').containsCIDR(self) : cidr('ff00::/8').containsCIDR(self))",message="spec.trustedProxies.addresses networks must not be multicast: no peer has such an address"
// +kubebuilder:validation:XValidation:rule="!isIP(self) || ip(self).isGlobalUnicast() || ip(self).isLoopback() || ip(self).isLinkLocalUnicast()",message="spec.trustedProxies.addresses entries must be unicast addresses a proxy can have: unspecified (0.0.0.0, ::), broadcast and multicast addresses never appear as a peer"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() != (cidr(self).ip().family() == 4 ? 32 : 128) || cidr(self).ip().isGlobalUnicast() || cidr(self).ip().isLoopback() || cidr(self).ip().isLinkLocalUnicast()",message="spec.trustedProxies.addresses entries must be unicast addresses a proxy can have: unspecified (0.0.0.0, ::), broadcast and multicast addresses never appear as a peer"
type AddressOrRange string

// ServiceReference names a Service whose ready endpoints are trusted.
type ServiceReference struct {
	// namespace of the Service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="spec.trustedProxies.services[].namespace must be a namespace name: lower-case letters, digits and '-'"
	Namespace string `json:"namespace"`

	// name of the Service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!format.dns1035Label().validate(self).hasValue()",message="spec.trustedProxies.services[].name must be a Service name: lower-case letters, digits and '-', starting with a letter"
	Name string `json:"name"`
}

// PresetName names a preset list of trusted proxies, such as cloudflare.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="!format.dns1123Label().validate(self).hasValue()",message="spec.trustedProxies.presets entries must be preset names such as cloudflare: lower-case letters, digits and '-'"
type PresetName string

// RolloutPolicy says how changes of the trusted proxy list roll PostHog's
// pods. The ConfigMap always holds the current list; the pods read it when
// they start, so a change of the list changes a pod-template annotation.
type RolloutPolicy struct {
	// window is how long the list must stay unchanged before its change
	// rolls the pods, so that a rolling restart of the ingress controller,
	// which changes its endpoints one by one, rolls PostHog once. A list
	// that keeps changing rolls the pods at the latest ten windows after its
	// first change. 0 rolls on every change.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('1h')",message="spec.trustedProxies.rollout.window must be between 0s and 1h, such as 30s"
	Window *metav1.Duration `json:"window,omitempty"`

	// grace is how long a discovered address stays trusted after it left
	// its Service, so that requests still in flight through a draining
	// ingress controller pod keep their client address. 0 drops it at once.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="spec.trustedProxies.rollout.grace must be between 0s and 24h, such as 5m"
	Grace *metav1.Duration `json:"grace,omitempty"`
}

// IngressSpec describes the Ingresses in front of PostHog.
// +kubebuilder:validation:XValidation:rule="self.exposure == 'Split' || !has(self.private)",message="spec.ingress.private is only used when spec.ingress.exposure is Split: remove it, or set exposure to Split"
// +kubebuilder:validation:XValidation:rule="self.exposure != 'Split' || (has(self.private) && (has(self.private.className) || has(self.private.sourceRanges)))",message="spec.ingress.exposure Split needs spec.ingress.private.className (an internal ingress controller) or private.sourceRanges: otherwise the private Ingress is as public as the other"
// +kubebuilder:validation:XValidation:rule="!has(self.private) || !has(self.private.sourceRanges) || !(self.controller in ['traefik', 'gce', 'generic'])",message="spec.ingress.private.sourceRanges cannot be enforced by an annotation with controller traefik, gce or generic: restrict the private Ingress on the controller (a middleware, a security policy, a network policy), or use controller nginx, haproxy or alb"
type IngressSpec struct {
	// className is the IngressClass that serves the Ingress. When omitted,
	// the cluster's default IngressClass is used.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="spec.ingress.className must be an IngressClass name: lower-case letters, digits, '-' and '.'"
	ClassName string `json:"className,omitempty"`

	// controller is the ingress controller that serves the class, which
	// decides how the same intent — body size for recordings, where HTTPS
	// is redirected, source ranges, health checks, path types — is written:
	// nginx (ingress-nginx), traefik, haproxy (HAProxy Technologies), alb
	// (AWS Load Balancer Controller), gce (GKE), or generic (no
	// controller-specific annotations).
	// +optional
	// +kubebuilder:default=generic
	Controller IngressController `json:"controller,omitempty"`

	// exposure says what is reachable: All (one Ingress, everything),
	// PublicEndpointsOnly (one Ingress with only the endpoints PostHog's SDKs
	// and snippets call: ingestion, recordings, flags, the JS loaders), or
	// Split (that public Ingress, plus a private one for the app and API,
	// see private).
	// +optional
	// +kubebuilder:default=All
	Exposure Exposure `json:"exposure,omitempty"`

	// publicPaths extend the public endpoint preset. A path ending in a file
	// extension (/static/toolbar.js) matches exactly; any other (/api/surveys)
	// matches itself and everything below it, never a longer name
	// (/api/surveysx).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	PublicPaths []PublicPath `json:"publicPaths,omitempty"`

	// private is the Ingress for everything but the public endpoints, with
	// exposure Split.
	// +optional
	Private *PrivateIngress `json:"private,omitempty"`

	// maxBodySize is the largest request body the ingress controller lets
	// through. PostHog's session recordings send bodies of up to about
	// 20 MB; ingress-nginx refuses more than 1 MB unless told.
	// +optional
	// +kubebuilder:default="25Mi"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('1Mi')) && quantity(string(self)).isLessThan(quantity('1025Mi'))",message="spec.ingress.maxBodySize must be more than 1Mi and at most 1Gi, such as 25Mi"
	MaxBodySize *resource.Quantity `json:"maxBodySize,omitempty"`

	// service is the PostHog web Service the Ingress routes to.
	// +required
	Service BackendService `json:"service"`

	// annotations are copied onto the Ingresses, typically settings of the
	// ingress controller; where one has the key of an annotation the preset
	// writes, yours wins. Annotations that inject configuration into the
	// controller (snippets) are refused.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 317 && k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",message="spec.ingress.annotations keys must be annotation names such as nginx.ingress.kubernetes.io/proxy-body-size: an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.split('/')[k.split('/').size() - 1].size() <= 63 && (k.split('/').size() == 1 || k.split('/')[0].size() <= 253))",message="spec.ingress.annotations keys must have a name of at most 63 characters after the '/' and a prefix of at most 253 characters before it"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.lowerAscii().matches('snippets?$|(^|/)config-(backend|defaults|frontend|global|sections|tcp|proxy)|(^|/)(auth-tls-match-cn|auth-url|mirror-target|mirror-host|mirror-uri|use-regex)$'))",message="spec.ingress.annotations must not inject configuration into the ingress controller or change how it matches paths: *-snippet and config-* annotations, and auth-tls-match-cn, auth-url, mirror-target, mirror-host, mirror-uri and use-regex are refused (the CVE-2021-25742 and CVE-2025-1974 family); use the controller's own settings instead"
	Annotations map[string]AnnotationValue `json:"annotations,omitempty"`
}

// AnnotationValue is the value of an annotation: at most 1024 characters,
// so that all of them fit the API server's limit for an object's
// annotations, and no control characters, which could carry configuration
// into the controller.
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:XValidation:rule="!self.matches('[\\x00-\\x1f\\x7f]')",message="spec.ingress.annotations values must not contain control characters such as newlines: they could carry configuration into the ingress controller"
type AnnotationValue string

// IngressController names an ingress controller preset.
// +kubebuilder:validation:Enum=nginx;traefik;haproxy;alb;gce;generic
type IngressController string

// The ingress controller presets.
const (
	ControllerNginx   IngressController = "nginx"
	ControllerTraefik IngressController = "traefik"
	ControllerHAProxy IngressController = "haproxy"
	ControllerALB     IngressController = "alb"
	ControllerGCE     IngressController = "gce"
	ControllerGeneric IngressController = "generic"
)

// Exposure says which of PostHog's paths an Ingress serves.
// +kubebuilder:validation:Enum=All;PublicEndpointsOnly;Split
type Exposure string

// The exposure modes.
const (
	ExposeAll        Exposure = "All"
	ExposePublicOnly Exposure = "PublicEndpointsOnly"
	ExposeSplit      Exposure = "Split"
)

// PublicPath is a URL path PostHog's SDKs call.
// +kubebuilder:validation:MinLength=2
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="self.matches('^(/[A-Za-z0-9._~-]+)+/?$')",message="spec.ingress.publicPaths entries must be paths such as /api/surveys or /static/toolbar.js: '/'-separated names of letters, digits, '.', '_', '~' and '-', without query, wildcard or '..'"
// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(seg, seg == '..' || seg == '.')",message="spec.ingress.publicPaths entries must not contain '.' or '..' segments"
type PublicPath string

// PrivateIngress is the Ingress for PostHog's app and API.
type PrivateIngress struct {
	// className of the private Ingress, for an internal ingress controller;
	// defaults to spec.ingress.className.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="spec.ingress.private.className must be an IngressClass name: lower-case letters, digits, '-' and '.'"
	ClassName string `json:"className,omitempty"`

	// sourceRanges allowed to reach the private Ingress, enforced by the
	// controller's annotation (nginx, haproxy, alb).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	SourceRanges []SourceRange `json:"sourceRanges,omitempty"`
}

// SourceRange is a network in CIDR form, such as 10.0.0.0/8.
// +kubebuilder:validation:MinLength=4
// +kubebuilder:validation:MaxLength=49
// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).masked() == cidr(self)",message="spec.ingress.private.sourceRanges entries must be networks written with their network address, such as 10.0.0.0/8 or 2001:db8::/32"
// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() > 0",message="spec.ingress.private.sourceRanges must not hold a /0 network: it lets everyone in; use exposure All if that is meant"
type SourceRange string

// BackendService is a Service and one of its ports.
type BackendService struct {
	// name of the Service, in the namespace of this PostHogProxy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!format.dns1035Label().validate(self).hasValue()",message="spec.ingress.service.name must be a Service name: lower-case letters, digits and '-', starting with a letter"
	Name string `json:"name"`

	// port of the Service, by number or by name.
	// +required
	Port BackendPort `json:"port"`
}

// BackendPort is a Service port, by number or by name.
// +kubebuilder:validation:XValidation:rule="has(self.number) != has(self.name)",message="spec.ingress.service.port needs exactly one of number or name"
type BackendPort struct {
	// number of the Service port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Number int32 `json:"number,omitempty"`

	// name of the Service port.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([a-z0-9]|-[a-z0-9])*$') && self.matches('[a-z]')",message="spec.ingress.service.port.name must be a port name such as http: lower-case letters, digits and single '-' between them, with at least one letter"
	Name string `json:"name,omitempty"`
}

// PostHogProxyStatus is what the operator observed and did.
type PostHogProxyStatus struct {
	// observedGeneration is the metadata.generation this status describes;
	// 0 until the operator has looked at the resource, so that kstatus
	// readers (kubectl wait, Argo CD, Flux) see a new resource as in
	// progress rather than current.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (everything applied), Reconciling (a failed API
	// call is being retried), Stalled (cannot progress until a person
	// changes the spec or the cluster),
	// one per part (TrustedProxiesReady, IngressReady, TargetsReady), and
	// warnings (InsecureConfiguration, ProbeHostRisk).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// url is where PostHog is served: the first host, with https unless
	// TLS termination is None.
	// +optional
	URL string `json:"url,omitempty"`

	// trustedProxies summarises the published trusted proxy list.
	// +optional
	TrustedProxies *TrustedProxiesStatus `json:"trustedProxies,omitempty"`

	// ingresses are the Ingresses the operator keeps, with the paths each
	// one serves.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=2
	Ingresses []IngressStatus `json:"ingresses,omitempty"`

	// targets are the Deployments and containers that carry the
	// operator's environment variables.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	Targets []TargetStatus `json:"targets,omitempty"`
}

// TrustedProxiesStatus summarises the published trusted proxy list and how
// its changes reached the pods.
type TrustedProxiesStatus struct {
	// configMapName is the ConfigMap that holds the list.
	ConfigMapName string `json:"configMapName"`
	// count of entries in the list.
	Count int32 `json:"count"`
	// hash of the list, the same as in the ConfigMap.
	Hash string `json:"hash"`
	// sources says how many entries each source gave, before duplicates
	// across sources were removed.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Sources []SourceStatus `json:"sources,omitempty"`
	// changedAt is when the list last changed.
	// +optional
	ChangedAt *metav1.Time `json:"changedAt,omitempty"`
	// rolledHash is the hash of the list the pods were last rolled with. It
	// differs from hash while a change waits for the rollout window.
	// +optional
	RolledHash string `json:"rolledHash,omitempty"`
	// pendingSince is when the list first differed from the rolled one, while
	// it does: a change waits at most ten rollout windows from then, so a
	// list that never settles still reaches the pods.
	// +optional
	PendingSince *metav1.Time `json:"pendingSince,omitempty"`
	// lastRollout is when the operator last changed the pod template of
	// the targets, and why.
	// +optional
	LastRollout *RolloutRecord `json:"lastRollout,omitempty"`
	// leaving are discovered addresses that left their Service and stay
	// trusted until the grace period ends: the first 64 by address; the
	// ConfigMap's sources.json holds them all, and the leaving source's
	// count says how many there are.
	// +optional
	// +listType=map
	// +listMapKey=address
	// +kubebuilder:validation:MaxItems=64
	Leaving []LeavingAddress `json:"leaving,omitempty"`
}

// SourceStatus is what one source contributed.
type SourceStatus struct {
	// name of the source: static, service/<namespace>/<name>,
	// preset/<name> or leaving.
	Name string `json:"name"`
	// count of entries it gave.
	Count int32 `json:"count"`
	// version of a preset.
	// +optional
	Version string `json:"version,omitempty"`
}

// RolloutRecord is one change of the targets' pod template.
type RolloutRecord struct {
	// time of the change.
	Time metav1.Time `json:"time"`
	// reason for it.
	Reason string `json:"reason"`
}

// LeavingAddress is a discovered address in its grace period.
type LeavingAddress struct {
	// address that left.
	Address string `json:"address"`
	// until when it stays trusted.
	Until metav1.Time `json:"until"`
}

// IngressStatus is one Ingress the operator keeps.
type IngressStatus struct {
	// name of the Ingress.
	Name string `json:"name"`
	// role is public (the endpoints PostHog's SDKs call), private (the app
	// and API) or all.
	Role string `json:"role"`
	// hosts it serves: the spec's, less any another PostHogProxy holds.
	// +listType=atomic
	Hosts []string `json:"hosts"`
	// paths it serves: "/" for everything, or the public endpoints.
	// +listType=atomic
	Paths []string `json:"paths"`
	// pathsVersion is the version of the public endpoint preset.
	// +optional
	PathsVersion string `json:"pathsVersion,omitempty"`
}

// TargetStatus is a Deployment that carries the operator's variables.
type TargetStatus struct {
	// name of the Deployment.
	Name string `json:"name"`
	// containers that carry the operator's environment variables.
	// +listType=set
	Containers []string `json:"containers"`
}

// PostHogProxy exposes one self-hosted PostHog installation through its
// proxies: it keeps an Ingress, a ConfigMap with the trusted proxy list, and
// PostHog's proxy environment variables in step with this spec.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=phpx,categories=posthog
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Proxies",type=integer,JSONPath=`.status.trustedProxies.count`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.tls.certManager) || has(self.spec.tls.secretName)",message="spec.tls.certManager needs spec.tls.secretName: cert-manager issues the certificate into that Secret"
// +kubebuilder:validation:XValidation:rule="self.spec.tls.termination != 'Ingress' || has(self.spec.tls.secretName) || self.spec.ingress.controller == 'alb'",message="spec.tls.secretName is required when spec.tls.termination is Ingress: name the Secret (type kubernetes.io/tls) that holds the certificate for spec.hosts (with controller alb the certificate comes from ACM and no Secret is needed)"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters: it names the generated Ingress and ConfigMap and is used as a label value"
type PostHogProxy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired exposure of PostHog.
	// +required
	Spec PostHogProxySpec `json:"spec"`

	// status is what the operator observed and did.
	// +optional
	// +kubebuilder:default={}
	Status PostHogProxyStatus `json:"status,omitempty"`
}

// PostHogProxyList is a list of PostHogProxy.
// +kubebuilder:object:root=true
type PostHogProxyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PostHogProxy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PostHogProxy{}, &PostHogProxyList{})
}
