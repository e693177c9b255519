package desired

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// Outcome is what one reconcile achieved, part by part. A part's error is
// a *Problem when a person must act, and a failed API call otherwise.
type Outcome struct {
	Now     time.Time
	Proxies ProxyList
	Plan    RolloutPlan
	// TrustedProxies is why the list was not published: Proxies.Blocked,
	// or a failed write of the ConfigMap.
	TrustedProxies error
	// Ingresses are the Ingresses applied; Ingress is why they were not.
	Ingresses []IngressPlan
	Ingress   error
	Targets   []TargetOutcome
	// ProbeRisks are "deployment/container/probe" entries, see ProbesWithoutHost.
	ProbeRisks []string
}

// TargetOutcome is what happened to one target Deployment. Problem needs a
// person to act; Err is a failed API call that is retried.
type TargetOutcome struct {
	Name       string
	Containers []string
	Problem    *Problem
	Err        error
	// Rolled says the pod template's config hash changed, which rolls the
	// Deployment's pods.
	Rolled bool
}

// Err is every failed API call of the outcome, to retry with backoff.
// Problems are left out: retrying cannot solve them.
func (o Outcome) Err() error {
	errs := []error{transient(o.TrustedProxies), transient(o.Ingress)}
	for _, t := range o.Targets {
		errs = append(errs, t.Err)
	}
	return errors.Join(errs...)
}

// NeedsPolling says whether the outcome waits for something no watch
// reports: a name taken by someone else's object, or a Service that does
// not exist (Services are not watched; a new one with endpoints is seen
// through its EndpointSlices, one without them is not).
func (o Outcome) NeedsPolling() bool {
	for _, err := range []error{o.TrustedProxies, o.Ingress} {
		if p, ok := asProblem(err); ok && (p.Reason == proxyv1.ReasonAlreadyExists || p.Reason == proxyv1.ReasonServiceNotFound) {
			return true
		}
	}
	return false
}

// RecheckAfter is when the outcome needs another look without any event: a
// list change waiting for its rollout window, or the end of an address's
// grace period. Zero when nothing waits.
func (o Outcome) RecheckAfter() time.Duration {
	next := o.Plan.Wait
	for _, d := range o.Proxies.Leaving {
		if wait := d.Until.Sub(o.Now); wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return next
}

func isHostConflict(err error) bool {
	p, ok := asProblem(err)
	return ok && p.Reason == proxyv1.ReasonHostConflict
}

func transient(err error) error {
	if _, ok := asProblem(err); ok {
		return nil
	}
	return err
}

func asProblem(err error) (*Problem, bool) {
	var p *Problem
	return p, errors.As(err, &p)
}

// Status is the status a PostHogProxy should have after a reconcile with
// the given outcome. Conditions keep their transition time while their
// status stays the same, so an unchanged outcome yields an identical status.
func Status(proxy *proxyv1.PostHogProxy, out Outcome) proxyv1.PostHogProxyStatus {
	st := proxyv1.PostHogProxyStatus{
		ObservedGeneration: proxy.Generation,
		Conditions:         append([]metav1.Condition(nil), proxy.Status.Conditions...),
		URL:                URL(proxy),
	}
	st.TrustedProxies = trustedProxiesStatus(proxy, out)
	if out.Ingress != nil && out.Ingresses == nil && !isHostConflict(out.Ingress) {
		// Not applied: what was applied before still serves.
		st.Ingresses = proxy.Status.Ingresses
	} else {
		st.Ingresses = IngressStatuses(out.Ingresses)
	}
	for _, t := range out.Targets {
		if t.Problem == nil && t.Err == nil {
			st.Targets = append(st.Targets, proxyv1.TargetStatus{Name: t.Name, Containers: t.Containers})
		}
	}

	wanted, unwanted := Conditions(proxy, out)
	for _, c := range wanted {
		c.ObservedGeneration = proxy.Generation
		meta.SetStatusCondition(&st.Conditions, c)
	}
	for _, t := range unwanted {
		meta.RemoveStatusCondition(&st.Conditions, t)
	}
	return st
}

// URL is where PostHog is served.
func URL(proxy *proxyv1.PostHogProxy) string {
	if len(proxy.Spec.Hosts) == 0 {
		return ""
	}
	scheme := "https"
	if proxy.Spec.TLS.Termination == proxyv1.TLSNone {
		scheme = "http"
	}
	return scheme + "://" + string(proxy.Spec.Hosts[0])
}

// Conditions are the conditions an outcome calls for, and the types that
// must be absent (kstatus reads an absent Reconciling or Stalled as False).
func Conditions(proxy *proxyv1.PostHogProxy, out Outcome) (wanted []metav1.Condition, unwanted []string) {
	parts := []metav1.Condition{
		trustedProxiesCondition(proxy, out),
		ingressCondition(proxy, out),
		targetsCondition(out),
	}
	wanted = append(wanted, parts...)
	wanted = append(wanted, readyCondition(parts))

	stalled, retrying := blockers(out)
	if stalled != nil {
		wanted = append(wanted, condition(proxyv1.ConditionStalled, true, stalled.Reason, stalled.Message))
	} else {
		unwanted = append(unwanted, proxyv1.ConditionStalled)
	}
	switch {
	case retrying != nil:
		wanted = append(wanted, condition(proxyv1.ConditionReconciling, true, proxyv1.ReasonApplyFailed,
			"retrying after: "+retrying.Error()))
	case out.Plan.Wait > 0:
		wanted = append(wanted, condition(proxyv1.ConditionReconciling, true, proxyv1.ReasonRolloutPending, fmt.Sprintf(
			"the trusted proxy list changed; the pods roll with it once it has stayed the same for %s (spec.trustedProxies.rollout.window), or at the latest %s after it first changed",
			window(proxy), maxWaitWindows*window(proxy))))
	default:
		unwanted = append(unwanted, proxyv1.ConditionReconciling)
	}

	if policy(proxy) == proxyv1.TrustAll {
		wanted = append(wanted, condition(proxyv1.ConditionInsecureConfiguration, true, proxyv1.ReasonTrustAllProxies,
			"spec.trustedProxies.policy is TrustAll: any client can set X-Forwarded-For and choose the IP address PostHog records and checks against ALLOWED_IP_BLOCKS; list the proxies instead"))
	} else {
		unwanted = append(unwanted, proxyv1.ConditionInsecureConfiguration)
	}
	if len(out.ProbeRisks) > 0 {
		wanted = append(wanted, condition(proxyv1.ConditionProbeHostRisk, true, proxyv1.ReasonProbesWithoutHostHeader,
			fmt.Sprintf("ALLOWED_HOSTS is %s but these HTTP probes (Deployment/container/probe) send the pod IP as Host, which PostHog may refuse: %s; give each probe the header \"Host: %s\" (httpGet.httpHeaders), or set spec.allowedHosts to Unmanaged",
				strings.Join(hostStrings(proxy), ","), strings.Join(out.ProbeRisks, ", "), proxy.Spec.Hosts[0])))
	} else {
		unwanted = append(unwanted, proxyv1.ConditionProbeHostRisk)
	}
	return wanted, unwanted
}

func trustedProxiesCondition(proxy *proxyv1.PostHogProxy, out Outcome) metav1.Condition {
	t := proxyv1.ConditionTrustedProxiesReady
	switch {
	case out.TrustedProxies != nil:
		return partFailed(t, "ConfigMap "+ConfigMapName(proxy), out.TrustedProxies)
	case out.Proxies.Unmatchable != nil:
		return condition(t, false, out.Proxies.Unmatchable.Reason, out.Proxies.Unmatchable.Message)
	case policy(proxy) == proxyv1.TrustAll:
		return condition(t, true, proxyv1.ReasonTrustAllProxies, "every proxy is trusted (TRUST_ALL_PROXIES)")
	default:
		n := out.Proxies.List.Len()
		return condition(t, true, proxyv1.ReasonListPublished, fmt.Sprintf("%d %s published in ConfigMap %s (%s)",
			n, noun(n, "trusted proxy", "trusted proxies"), ConfigMapName(proxy), sourceSummary(out.Proxies.List)))
	}
}

// sourceSummary says how many entries each source gave.
func sourceSummary(list trust.List) string {
	var parts []string
	for _, s := range list.Sources() {
		if s.Name == "static" && len(s.Entries) == 0 {
			continue
		}
		part := fmt.Sprintf("%s: %d", s.Name, len(s.Entries))
		if s.Version != "" {
			part += " (version " + s.Version + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// trustedProxiesStatus records the published list. While a list cannot be
// published, the last published one stays in effect, and so does its record.
func trustedProxiesStatus(proxy *proxyv1.PostHogProxy, out Outcome) *proxyv1.TrustedProxiesStatus {
	prev := proxy.Status.TrustedProxies
	if out.TrustedProxies != nil {
		return prev
	}
	list := out.Proxies.List
	st := &proxyv1.TrustedProxiesStatus{
		ConfigMapName: ConfigMapName(proxy),
		Count:         int32(list.Len()),
		Hash:          list.Hash(),
		ChangedAt:     ptrTime(out.Plan.ChangedAt),
		RolledHash:    out.Plan.Hash,
	}
	if !out.Plan.PendingSince.IsZero() {
		st.PendingSince = ptrTime(out.Plan.PendingSince)
	}
	for _, s := range list.Sources() {
		st.Sources = append(st.Sources, proxyv1.SourceStatus{Name: s.Name, Count: int32(len(s.Entries)), Version: s.Version})
	}
	for _, d := range out.Proxies.Leaving[:min(len(out.Proxies.Leaving), maxLeavingShown)] {
		st.Leaving = append(st.Leaving, proxyv1.LeavingAddress{Address: d.Entry.Addr().String(), Until: *ptrTime(d.Until)})
	}
	if prev != nil {
		st.LastRollout = prev.LastRollout
	}
	if slices.ContainsFunc(out.Targets, func(t TargetOutcome) bool { return t.Rolled }) {
		st.LastRollout = &proxyv1.RolloutRecord{Time: *ptrTime(out.Now), Reason: rolloutReason(prev, out)}
	}
	return st
}

// maxLeavingShown bounds status.trustedProxies.leaving, a report: the
// ConfigMap holds every departure, and the leaving source's count says how
// many there are.
const maxLeavingShown = 64

func rolloutReason(prev *proxyv1.TrustedProxiesStatus, out Outcome) string {
	switch {
	case prev == nil || prev.RolledHash == "":
		return "the proxy settings were first applied"
	case prev.RolledHash != out.Plan.Hash:
		n := out.Proxies.List.Len()
		return fmt.Sprintf("the trusted proxy list changed (now %d %s)", n, noun(n, "entry", "entries"))
	default:
		return "the proxy settings changed"
	}
}

// ptrTime is t as the API stores it: to the second.
func ptrTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}

func ingressCondition(proxy *proxyv1.PostHogProxy, out Outcome) metav1.Condition {
	if out.Ingress != nil {
		return partFailed(proxyv1.ConditionIngressReady, "Ingress "+IngressName(proxy), out.Ingress)
	}
	var names []string
	for _, p := range out.Ingresses {
		names = append(names, p.Name+" ("+p.Role+")")
	}
	if len(names) == 0 {
		return condition(proxyv1.ConditionIngressReady, true, proxyv1.ReasonIngressApplied, "no Ingress is needed")
	}
	return condition(proxyv1.ConditionIngressReady, true, proxyv1.ReasonIngressApplied,
		"Ingress "+strings.Join(names, ", ")+" matches the spec")
}

func targetsCondition(out Outcome) metav1.Condition {
	var reason string
	var problems, applied []string
	for _, t := range out.Targets {
		switch {
		case t.Problem != nil:
			if reason == "" || reason == proxyv1.ReasonApplyFailed {
				reason = t.Problem.Reason
			}
			problems = append(problems, t.Problem.Message)
		case t.Err != nil:
			if reason == "" {
				reason = proxyv1.ReasonApplyFailed
			}
			problems = append(problems, fmt.Sprintf("Deployment %s: %v", t.Name, t.Err))
		default:
			applied = append(applied, fmt.Sprintf("Deployment %s (%s %s)", t.Name,
				noun(len(t.Containers), "container", "containers"), strings.Join(t.Containers, ", ")))
		}
	}
	if len(problems) > 0 {
		return condition(proxyv1.ConditionTargetsReady, false, reason, strings.Join(problems, "; "))
	}
	return condition(proxyv1.ConditionTargetsReady, true, proxyv1.ReasonEnvApplied,
		"proxy settings applied to "+strings.Join(applied, "; "))
}

// partFailed is the condition of a part that could not be applied. A
// problem's message already names the object; an API error does not.
func partFailed(conditionType, object string, err error) metav1.Condition {
	if p, ok := asProblem(err); ok {
		return condition(conditionType, false, p.Reason, p.Message)
	}
	return condition(conditionType, false, proxyv1.ReasonApplyFailed, object+": "+err.Error())
}

func readyCondition(parts []metav1.Condition) metav1.Condition {
	for _, p := range parts {
		if p.Status != metav1.ConditionTrue {
			return condition(proxyv1.ConditionReady, false, p.Reason, p.Type+": "+p.Message)
		}
	}
	return condition(proxyv1.ConditionReady, true, proxyv1.ReasonReconciled, "PostHog's proxy settings, trusted proxy list and Ingress are applied")
}

// blockers are the first problem that needs a person, and the first failed
// API call, of an outcome.
func blockers(out Outcome) (stalled *Problem, retrying error) {
	if out.TrustedProxies == nil && out.Proxies.Unmatchable != nil {
		stalled = out.Proxies.Unmatchable
	}
	for _, err := range []error{out.TrustedProxies, out.Ingress} {
		if p, ok := asProblem(err); ok && stalled == nil {
			stalled = p
		} else if err != nil && !ok && retrying == nil {
			retrying = err
		}
	}
	for _, t := range out.Targets {
		if t.Problem != nil && stalled == nil {
			stalled = t.Problem
		}
		if t.Err != nil && retrying == nil {
			retrying = t.Err
		}
	}
	return stalled, retrying
}

func condition(conditionType string, ok bool, reason, message string) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	const maxMessage = 32768
	if len(message) > maxMessage {
		message = message[:maxMessage-3] + "..."
	}
	return metav1.Condition{Type: conditionType, Status: status, Reason: reason, Message: message}
}

func hostStrings(proxy *proxyv1.PostHogProxy) []string {
	out := make([]string, len(proxy.Spec.Hosts))
	for i, h := range proxy.Spec.Hosts {
		out[i] = string(h)
	}
	return out
}

func noun(n int, singular, plural string) string {
	if n == 1 {
		return singular
	}
	return plural
}
