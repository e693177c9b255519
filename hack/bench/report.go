package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

type report struct {
	options
	command string
	took    time.Duration
	bulk    []bulkRun
	// quietRSS and noisyRSS are the manager's peak RSS per run, in bytes,
	// without and with the unrelated objects.
	quietRSS, noisyRSS []float64
	// idle are the writes of each idle window, by resource.
	idle    []map[string]float64
	rollout []rolloutRun
	failed  []string
}

// spread is the median of several runs, with their min and max.
type spread struct{ median, min, max float64 }

func spreadOf(values []float64) spread {
	if len(values) == 0 {
		return spread{}
	}
	s := slices.Sorted(slices.Values(values))
	return spread{median: s[(len(s)-1)/2], min: s[0], max: s[len(s)-1]}
}

func (s spread) format(unit string, digits int) string {
	f := "%." + fmt.Sprint(digits) + "f"
	return fmt.Sprintf(f+"%s ("+f+"–"+f+")", s.median, unit, s.min, s.max)
}

// verdict notes whether a target is met.
func (r *report) verdict(name string, ok bool) string {
	if ok {
		return "pass"
	}
	r.failed = append(r.failed, name)
	return "**fail**"
}

func (r *report) bulkOf(n int, value func(bulkRun) float64) spread {
	var v []float64
	for _, b := range r.bulk {
		if b.n == n {
			v = append(v, value(b))
		}
	}
	return spreadOf(v)
}

func (r *report) write(path string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` on %s: %s/%s, %d CPUs, %s; the local control plane of `make test`. It took %s.\n\n",
		strings.TrimSpace(r.command), time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), r.took.Round(time.Second))
	fmt.Fprintf(&b, "Each figure is the median of %d runs, with min–max.\n\n", r.runs)
	var notes []string
	fmt.Fprintf(&b, "| | measure | target | measured | |\n| --- | --- | --- | --- | --- |\n")
	target := r.sizes[len(r.sizes)/2]
	m1 := r.bulkOf(target, func(b bulkRun) float64 { return b.writes / float64(b.n*minimalWrites) })
	fmt.Fprintf(&b, "| M1 | write amplification: API writes per resource ÷ %d, N=%d | ≤ 1.10 | %s | %s |\n", minimalWrites, target, m1.format("", 2), r.verdict("M1", m1.median <= 1.1))
	if len(r.idle) > 0 {
		var totals []float64
		for _, w := range r.idle {
			totals = append(totals, total(w))
		}
		m2 := spreadOf(totals)
		fmt.Fprintf(&b, "| M2 | idle writes: a resync, a leader change and a manager restart over %d converged resources | 0 | %s | %s |\n",
			idleResources, m2.format("", 0), r.verdict("M2", m2.max == 0))
	}
	m3 := r.bulkOf(target, func(b bulkRun) float64 { return b.operator.Seconds() / b.baseline.Seconds() })
	fmt.Fprintf(&b, "| M3 | bulk convergence: time to Ready ÷ plain client, N=%d | ≤ 1.30 | %s | %s |\n", target, m3.format("", 2), r.verdict("M3", m3.median <= 1.3))

	if len(r.quietRSS) > 0 && len(r.noisyRSS) > 0 {
		quiet, noisy := spreadOf(r.quietRSS), spreadOf(r.noisyRSS)
		m4 := spread{median: noisy.median / quiet.median, min: noisy.min / quiet.max, max: noisy.max / quiet.min}
		fmt.Fprintf(&b, "| M4 | cache isolation: peak RSS with %d unrelated Deployments, ConfigMaps and EndpointSlices each ÷ without (%.1f ÷ %.1f MiB) | ≤ 1.15 | %s | %s |\n",
			r.noise, noisy.median/(1<<20), quiet.median/(1<<20), m4.format("", 2), r.verdict("M4", m4.median <= 1.15))
	}
	if len(r.rollout) > 0 {
		var ratios []float64
		var mismatches []string
		for i, x := range r.rollout {
			ratios = append(ratios, float64(x.templateChanges)/float64(x.effectiveChanges))
			if x.mismatch != "" {
				mismatches = append(mismatches, fmt.Sprintf("run %d: %s", i, x.mismatch))
			}
		}
		m5 := spreadOf(ratios)
		fmt.Fprintf(&b, "| M5 | rollout amplification: pod template changes ÷ effective config changes (%d expected) over the script below, each step checked | 1.00 | %s | %s |\n",
			expectedEffectiveChanges, m5.format("", 2), r.verdict("M5", m5.min == 1 && m5.max == 1 && len(mismatches) == 0))
		for _, m := range mismatches {
			notes = append(notes, "M5 "+m)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	fmt.Fprintf(&b, "\n## Bulk convergence\n\n| N | operator | plain client | ratio | create→Ready p50 | p99 | writes per resource | reads per resource |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, n := range r.sizes {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", n,
			r.bulkOf(n, func(b bulkRun) float64 { return b.operator.Seconds() }).format(" s", 1),
			r.bulkOf(n, func(b bulkRun) float64 { return b.baseline.Seconds() }).format(" s", 1),
			r.bulkOf(n, func(b bulkRun) float64 { return b.operator.Seconds() / b.baseline.Seconds() }).format("", 2),
			r.bulkOf(n, func(b bulkRun) float64 { return b.p50.Seconds() }).format(" s", 2),
			r.bulkOf(n, func(b bulkRun) float64 { return b.p99.Seconds() }).format(" s", 2),
			r.bulkOf(n, func(b bulkRun) float64 { return b.writes / float64(b.n) }).format("", 2),
			r.bulkOf(n, func(b bulkRun) float64 { return b.reads / float64(b.n) }).format("", 2))
	}
	b.WriteString(method)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if len(r.failed) > 0 {
		return fmt.Errorf("targets not met: %s (see %s)", strings.Join(r.failed, ", "), path)
	}
	return nil
}

const method = `
## How each is measured

The manager is ` + "`bin/manager`" + ` as its own process, with the flags the table's command
line gives (` + "`-qps`" + `, ` + "`-burst`" + `, ` + "`-concurrency`" + `); PostHogProxies each target a Deployment
shaped like PostHog's chart's, behind an ingress controller, with two static trusted addresses.
M4 runs first, with a manager that watches every namespace; the others then run with
` + "`--watch-namespaces`" + ` set to their own namespaces, so that what earlier runs left behind is
not part of their work.

- **M1**: the manager's own count of its write requests (client-go's
  ` + "`rest_client_requests_total`" + `, methods POST, PUT, PATCH and DELETE) while N
  PostHogProxies converge, after a warm-up, ÷ 5 N. Five writes is the least the result takes:
  the finalizer, the trusted proxy ConfigMap, the Ingress, the patch on the Deployment and the
  status. Reads are shown beside it; the manager reads from its cache, and from the API server
  only what it does not cache (a target Deployment's spec, a child that is not in the cache yet).
- **M2**: two managers with leader election and ` + "`--sync-period=15s`" + ` converge 20
  PostHogProxies; then, over a window with a resync, the leader stopped (the other takes over and
  reconciles everything), a manager started again and the leader stopped once more, every write
  the API server serves (its ` + "`apiserver_request_total`" + `, Lease renewals left out) is counted.
- **M3**: the time from the first create of N PostHogProxies to the last one Ready (each watched
  for Ready at its generation), ÷ the time a plain controller-runtime client with the same
  rate limit and as many workers takes to write the same result for another N itself (the five
  writes of M1, made with the operator's own builders, reading nothing). client-go limits each
  client and each kind of object separately, so both are bound by their busiest kind: the
  PostHogProxy, with two writes each. Small N fit in the burst, where the plain client's time is
  a fraction of a second and the ratio says little.
- **M4**: the manager's peak resident memory (` + "`VmHWM`" + `) while it converges 20
  PostHogProxies, with and without 5,000 unrelated Deployments, ConfigMaps and EndpointSlices
  each (shaped like an ordinary workload's, in ten other namespaces).
- **M5**: one PostHog Deployment through a script: create; a trusted address added; the
  addresses reordered; a label added; the manager restarted; the ingress controller's pods
  replaced one by one (new addresses trusted at once, the old ones for a 10 s grace period); the
  grace period ends; a host added; an address respelled (` + "`10.0.0.9`" + ` as
  ` + "`10.0.0.9/32`" + `); the manager restarted. Changes of the pod template (from a watch)
  are divided by the changes of what a pod started at each settled point would read: its
  variables, with ` + "`TRUSTED_PROXIES`" + ` read from the ConfigMap.
`
