package desired

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// MaxListBytes bounds TRUSTED_PROXIES. The list becomes one environment
// variable; the kernel refuses a single one over 128 KiB, and lists of that
// size are a mistake long before. An over-size list is reported, never
// truncated.
const MaxListBytes = 32 << 10

// Defaults of spec.trustedProxies.rollout, for objects no API server has
// defaulted (the offline renderer).
const (
	DefaultRolloutWindow = 30 * time.Second
	DefaultGrace         = 5 * time.Minute
)

// ProxyInputs is what the operator observed for the trusted proxy list.
type ProxyInputs struct {
	Now time.Time
	// Services are what was found for each spec.trustedProxies service.
	Services map[proxyv1.ServiceReference]ServiceEndpoints
	Presets  trust.Presets
	// Published is the state the last published list was built from, read
	// back from its ConfigMap.
	Published Published
	// PublishedHash is the hash of the list in the operator's ConfigMap, if
	// there is one.
	PublishedHash string
}

// ServiceEndpoints is what the operator found for one discovered Service.
type ServiceEndpoints struct {
	// Found is false when the Service does not exist.
	Found bool
	// Ready are the addresses of its ready endpoints.
	Ready []trust.Entry
}

// ProxyList is the trusted proxy list a spec and its inputs call for.
type ProxyList struct {
	List    trust.List
	Leaving []trust.Departure
	// Blocked says why the list must not be published: the last published
	// one stays.
	Blocked *Problem
	// Unmatchable says why PostHog cannot match the list as written; it is
	// published all the same.
	Unmatchable *Problem
}

// TrustedProxyList merges the sources of a PostHogProxy into its list.
func TrustedProxyList(proxy *proxyv1.PostHogProxy, in ProxyInputs) ProxyList {
	spec := proxy.Spec.TrustedProxies
	static := make([]string, len(spec.Addresses))
	for i, a := range spec.Addresses {
		static[i] = string(a)
	}
	entries, err := trust.Parse(static)
	if err != nil {
		return ProxyList{Blocked: &Problem{proxyv1.ReasonInvalidSpec, "spec.trustedProxies.addresses: " + err.Error()}}
	}
	sources := []trust.Source{{Name: "static", Entries: entries}}
	for _, name := range spec.Presets {
		preset, ok := in.Presets[string(name)]
		if !ok {
			return ProxyList{Blocked: &Problem{proxyv1.ReasonUnknownPreset, fmt.Sprintf(
				"spec.trustedProxies.presets: this operator knows no preset %q; it knows %s (more can be added with its --presets-file)",
				name, strings.Join(in.Presets.Names(), ", "))}}
		}
		sources = append(sources, trust.Source{Name: "preset/" + string(name), Version: preset.Version, Entries: preset.Entries})
	}
	var discovered []trust.Source
	for _, ref := range spec.Services {
		found := in.Services[ref]
		if !found.Found {
			return ProxyList{Blocked: &Problem{proxyv1.ReasonServiceNotFound, fmt.Sprintf(
				"Service %s/%s in spec.trustedProxies.services does not exist; the last published list stays until it does, or until the spec is fixed",
				ref.Namespace, ref.Name)}}
		}
		discovered = append(discovered, trust.Source{Name: ServiceSourceName(ref), Entries: found.Ready})
	}
	sources = append(sources, discovered...)

	// Only addresses that left a Service still in the spec get a grace
	// period: one removed from the spec goes at once.
	var given, leaving []trust.Entry
	for _, src := range sources {
		given = append(given, src.Entries...)
	}
	var departures []trust.Departure
	for _, src := range discovered {
		departures = append(departures, trust.Leaving(src.Name, in.Published.Discovered[src.Name], src.Entries, given,
			in.Published.Leaving, in.Now, grace(proxy))...)
	}
	// An address that left several Services at once leaves once, until the
	// latest end of its grace periods: the status lists departures by
	// address, and the leaving source counts addresses.
	slices.SortFunc(departures, func(a, b trust.Departure) int {
		return cmp.Or(a.Entry.Addr().Compare(b.Entry.Addr()), b.Until.Compare(a.Until), strings.Compare(a.From, b.From))
	})
	departures = slices.CompactFunc(departures, func(a, b trust.Departure) bool { return a.Entry == b.Entry })
	for _, d := range departures {
		leaving = append(leaving, d.Entry)
	}
	if len(leaving) > 0 {
		sources = append(sources, trust.Source{Name: LeavingSource, Entries: leaving})
	}

	out := ProxyList{List: trust.Merge(sources...), Leaving: departures}
	if size := len(out.List.Value()); size > MaxListBytes {
		out.Blocked = &Problem{proxyv1.ReasonListTooLarge, fmt.Sprintf(
			"the trusted proxy list would be %d entries, %d bytes, more than the %d bytes the operator puts in one environment variable; the last published list stays: narrow the sources",
			out.List.Len(), size, MaxListBytes)}
		return out
	}
	if ranges := out.List.Ranges(); len(ranges) > 0 && matching(proxy) == proxyv1.MatchExact {
		out.Unmatchable = &Problem{proxyv1.ReasonUnmatchableEntries, fmt.Sprintf(
			"spec.trustedProxies.matching is Exact, and PostHog compares entries with the peer address as strings, so these networks match no peer: %s; list single addresses, or set matching to Network if this PostHog version matches networks",
			abbreviate(ranges, 10))}
	}
	return out
}

// LeavingSource names the source of addresses in their grace period.
const LeavingSource = "leaving"

// ServiceSourceName names the source of a discovered Service.
func ServiceSourceName(ref proxyv1.ServiceReference) string {
	return "service/" + ref.Namespace + "/" + ref.Name
}

// RolloutPlan is which list hash the pods run with, and until when a newer
// one waits.
type RolloutPlan struct {
	// Hash is the list hash to put in the pod template.
	Hash string
	// ChangedAt is when the published list last changed.
	ChangedAt time.Time
	// PendingSince is when the list first differed from Hash, while it does.
	PendingSince time.Time
	// Wait is how long the current list still waits.
	Wait time.Duration
}

func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// KeepRolled is the plan while no new list can be published: the pods keep
// the list they were rolled with, while a change of their other settings
// still reaches them. published is the hash in the ConfigMap.
func KeepRolled(proxy *proxyv1.PostHogProxy, published string) RolloutPlan {
	if prev := proxy.Status.TrustedProxies; prev != nil && prev.RolledHash != "" {
		return RolloutPlan{Hash: prev.RolledHash}
	}
	return RolloutPlan{Hash: published}
}

// maxWaitWindows bounds the wait of a change, in rollout windows, so that a
// list that keeps changing still reaches the pods.
const maxWaitWindows = 10

// PlanRollout decides which list the pods are rolled with. A change of the
// list reaches the pod template once the list has stayed the same for the
// rollout window, so a burst of changes rolls the pods once, and at the
// latest ten windows after it first differed. The first list, and a list
// equal to the rolled one, go through at once.
func PlanRollout(proxy *proxyv1.PostHogProxy, current string, now time.Time) RolloutPlan {
	prev := proxy.Status.TrustedProxies
	// Stored times have whole seconds: rounding up keeps a window from
	// ending early.
	plan := RolloutPlan{Hash: current, ChangedAt: ceilSecond(now)}
	if prev == nil {
		return plan
	}
	if prev.Hash == current && prev.ChangedAt != nil {
		plan.ChangedAt = prev.ChangedAt.Time
	}
	// No pod reads the list under TrustAll; and a spec change rolls the pods
	// anyway when it changes their settings, so a pending list goes with it
	// rather than roll them a second time.
	if prev.RolledHash == "" || prev.RolledHash == current || policy(proxy) == proxyv1.TrustAll ||
		proxy.Generation != proxy.Status.ObservedGeneration {
		return plan
	}
	plan.PendingSince = now
	if prev.PendingSince != nil {
		plan.PendingSince = prev.PendingSince.Time
	}
	w := window(proxy)
	quietLeft := w - now.Sub(plan.ChangedAt)
	capLeft := maxWaitWindows*w - now.Sub(plan.PendingSince)
	if wait := min(quietLeft, capLeft); wait > 0 {
		plan.Hash, plan.Wait = prev.RolledHash, wait
	} else {
		plan.PendingSince = time.Time{}
	}
	return plan
}

func window(proxy *proxyv1.PostHogProxy) time.Duration {
	if w := proxy.Spec.TrustedProxies.Rollout.Window; w != nil {
		return w.Duration
	}
	return DefaultRolloutWindow
}

func grace(proxy *proxyv1.PostHogProxy) time.Duration {
	if g := proxy.Spec.TrustedProxies.Rollout.Grace; g != nil {
		return g.Duration
	}
	return DefaultGrace
}

// matching is the matching rule with the API default applied.
func matching(proxy *proxyv1.PostHogProxy) proxyv1.MatchingRule {
	if proxy.Spec.TrustedProxies.Matching == "" {
		return proxyv1.MatchExact
	}
	return proxy.Spec.TrustedProxies.Matching
}

func abbreviate(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:max], ", "), len(items)-max)
}
