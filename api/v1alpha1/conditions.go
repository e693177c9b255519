package v1alpha1

// Condition types on PostHogProxy status. Ready, Reconciling and Stalled
// follow the kstatus conventions that Argo CD, Flux and kubectl wait read.
const (
	// ConditionReady is True when every part is applied as the spec asks.
	ConditionReady = "Ready"
	// ConditionReconciling is True while a failed API call is being retried
	// with backoff or a change of the trusted proxy list waits for its
	// rollout window, and absent otherwise.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the operator cannot make progress until
	// a person changes the spec or the cluster, and absent otherwise.
	ConditionStalled = "Stalled"

	// ConditionTrustedProxiesReady is True when the trusted proxy ConfigMap
	// holds the current list.
	ConditionTrustedProxiesReady = "TrustedProxiesReady"
	// ConditionIngressReady is True when the Ingress matches the spec.
	ConditionIngressReady = "IngressReady"
	// ConditionTargetsReady is True when every target container carries
	// the operator's environment variables.
	ConditionTargetsReady = "TargetsReady"

	// ConditionInsecureConfiguration is True when the spec asks for
	// something that works but is unsafe, such as trusting every proxy.
	ConditionInsecureConfiguration = "InsecureConfiguration"
	// ConditionProbeHostRisk is True when ALLOWED_HOSTS is strict and a
	// target container has HTTP probes that send no Host header, which
	// PostHog may refuse.
	ConditionProbeHostRisk = "ProbeHostRisk"
)

// Condition reasons.
const (
	// ReasonReconciled: everything is applied.
	ReasonReconciled = "Reconciled"
	// ReasonRolloutPending: the trusted proxy list changed and waits for
	// the rollout window before it rolls the pods.
	ReasonRolloutPending = "RolloutPending"
	// ReasonApplyFailed: the API server refused or failed a write; the
	// operator retries with backoff.
	ReasonApplyFailed = "ApplyFailed"

	// ReasonInvalidSpec: the spec cannot be applied as written; it was
	// stored before a validation rule that now refuses it existed.
	ReasonInvalidSpec = "InvalidSpec"

	// ReasonListPublished: the trusted proxy list is in its ConfigMap.
	ReasonListPublished = "ListPublished"
	// ReasonTrustAllProxies: every proxy is trusted (TRUST_ALL_PROXIES).
	ReasonTrustAllProxies = "TrustAllProxies"
	// ReasonIngressApplied: the Ingress matches the spec.
	ReasonIngressApplied = "IngressApplied"
	// ReasonEnvApplied: every target container carries the variables.
	ReasonEnvApplied = "EnvApplied"

	// ReasonAlreadyExists: an object the operator would create already
	// exists and is not controlled by this PostHogProxy; the operator never
	// takes over objects it did not create.
	ReasonAlreadyExists = "AlreadyExists"
	// ReasonRejected: the API server refused an object the operator built
	// from the spec as invalid, for a rule the PostHogProxy schema does not
	// repeat.
	ReasonRejected = "Rejected"
	// ReasonTrustAllSetElsewhere: a target container gets TRUST_ALL_PROXIES
	// from someone else while the spec asks for a list; PostHog reads any
	// non-empty value as on, so the list has no effect.
	ReasonTrustAllSetElsewhere = "TrustAllSetElsewhere"
	// ReasonServiceNotFound: a Service in spec.trustedProxies.services does
	// not exist; the last published list stays.
	ReasonServiceNotFound = "ServiceNotFound"
	// ReasonUnknownPreset: spec.trustedProxies.presets names a preset the
	// operator does not know; the last published list stays.
	ReasonUnknownPreset = "UnknownPreset"
	// ReasonListTooLarge: the list would not fit in one environment
	// variable; the last published list stays, never a truncated one.
	ReasonListTooLarge = "ListTooLarge"
	// ReasonUnmatchableEntries: matching is Exact and the list holds
	// networks, which PostHog then compares as strings and never matches.
	ReasonUnmatchableEntries = "UnmatchableEntries"
	// ReasonHostConflict: another PostHogProxy, created earlier, serves one
	// of the hosts; this one keeps no Ingress until that changes.
	ReasonHostConflict = "HostConflict"
	// ReasonTargetNotFound: a target Deployment does not exist.
	ReasonTargetNotFound = "TargetNotFound"
	// ReasonContainerNotFound: a named container is not in the Deployment.
	ReasonContainerNotFound = "ContainerNotFound"
	// ReasonContainerNotSpecified: the Deployment has several containers,
	// none marked as default, and the spec names none.
	ReasonContainerNotSpecified = "ContainerNotSpecified"
	// ReasonTargetClaimed: another PostHogProxy already patches the
	// Deployment.
	ReasonTargetClaimed = "TargetClaimed"
	// ReasonFieldConflict: another field manager owns a variable the
	// operator wants to set; the operator does not overwrite it.
	ReasonFieldConflict = "FieldConflict"

	// ReasonProbesWithoutHostHeader: HTTP probes send the pod IP as Host.
	ReasonProbesWithoutHostHeader = "ProbesWithoutHostHeader"
)
