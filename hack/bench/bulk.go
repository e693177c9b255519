package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/desired"
)

// minimalWrites are the writes one PostHogProxy needs to reach Ready from
// nothing: its finalizer, the trusted proxy ConfigMap, the Ingress, the
// patch on the Deployment and the status. Fewer would leave out part of
// the result.
const minimalWrites = 5

type bulkRun struct {
	n                  int
	operator, baseline time.Duration
	p50, p99           time.Duration
	writes, reads      float64
}

// bulk creates n PostHogProxies, each with its own Deployment, for a
// running manager and times them to Ready; then a plain client with the
// same rate limit and as many workers writes the same result for another
// n directly.
func bulk(ctx context.Context, cl *cluster, o options, n, run int) (bulkRun, error) {
	r := bulkRun{n: n}
	ns := fmt.Sprintf("m3-n%d-r%d", n, run)
	deployments, proxies := fleet(ns, n)
	if err := cl.createAll(ctx, append([]client.Object{namespace(ns)}, deployments...)); err != nil {
		return r, err
	}
	// Scoped to its namespaces: what other runs left behind is not work.
	m, err := startManager(cl, o.manager, filepath.Join(o.work, ns+".log"), o.managerFlags("--watch-namespaces="+ns+","+ns+"-warm-up")...)
	if err != nil {
		return r, err
	}
	defer m.stop(syscall.SIGTERM)
	// What is timed is the work, not the manager's start.
	if err := warmUp(ctx, cl, ns+"-warm-up"); err != nil {
		return r, fmt.Errorf("%w (manager log: %s)", err, m.log)
	}
	warmWrites, warmReads, err := m.settledWrites(ctx, time.Second)
	if err != nil {
		return r, err
	}
	ready, err := watchReady(ctx, cl, ns)
	if err != nil {
		return r, err
	}
	defer ready.stop()

	start := time.Now()
	created, err := cl.createTimed(ctx, proxies)
	if err != nil {
		return r, err
	}
	times, err := ready.wait(ctx, n, 10*time.Minute)
	if err != nil {
		return r, fmt.Errorf("%w (manager log: %s)", err, m.log)
	}
	var latencies []time.Duration
	var last time.Time
	for name, at := range times {
		latencies = append(latencies, at.Sub(created[name]))
		if at.After(last) {
			last = at
		}
	}
	r.operator = last.Sub(start)
	slices.Sort(latencies)
	r.p50, r.p99 = percentile(latencies, 50), percentile(latencies, 99)
	if r.writes, r.reads, err = m.settledWrites(ctx, 3*time.Second); err != nil {
		return r, err
	}
	r.writes, r.reads = r.writes-warmWrites, r.reads-warmReads
	m.stop(syscall.SIGTERM)

	r.baseline, err = baseline(ctx, cl, o, n, run)
	return r, err
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

// baseline is the time a plain client takes to write the result of n
// PostHogProxies itself — the physical limit at this rate limit: each
// PostHogProxy created as for the operator, then the minimal writes of its
// result with the operator's worker count and rate limit, reading nothing.
func baseline(ctx context.Context, cl *cluster, o options, n, run int) (time.Duration, error) {
	ns := fmt.Sprintf("m3-base-n%d-r%d", n, run)
	deployments, proxies := fleet(ns, n)
	if err := cl.createAll(ctx, append([]client.Object{namespace(ns)}, deployments...)); err != nil {
		return 0, err
	}
	c, err := cl.limitedClient(float32(o.qps), o.burst)
	if err != nil {
		return 0, err
	}
	work := make(chan *proxyv1.PostHogProxy)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range o.concurrency {
		wg.Go(func() {
			for p := range work {
				// Created in the timed window, as for the operator.
				if err := cl.c.Create(ctx, p); err != nil {
					errs <- err
				} else if err := writeResult(ctx, c, p); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, p := range proxies {
		work <- p
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, <-errs
}

// writeResult writes what the operator makes of one PostHogProxy, with the
// operator's own builders, in minimalWrites requests.
func writeResult(ctx context.Context, c client.Client, p *proxyv1.PostHogProxy) error {
	base := p.DeepCopy()
	controllerutil.AddFinalizer(p, desired.Finalizer)
	if err := c.Patch(ctx, p, client.MergeFrom(base)); err != nil {
		return err
	}
	now := time.Now()
	list := desired.TrustedProxyList(p, desired.ProxyInputs{Now: now})
	owner := client.FieldOwner(desired.FieldManager)
	if err := c.Apply(ctx, desired.ConfigMap(p, list), owner); err != nil {
		return err
	}
	plans := desired.IngressPlans(p, []string{string(p.Spec.Hosts[0])})
	for _, plan := range plans {
		if err := c.Apply(ctx, desired.Ingress(p, plan), owner); err != nil {
			return err
		}
	}
	plan := desired.PlanRollout(p, list.List.Hash(), now)
	target := p.Spec.Targets[0].Name
	if err := c.Apply(ctx, desired.DeploymentPatch(p, target, []string{"web"}, plan.Hash, nil), owner); err != nil {
		return err
	}
	base = p.DeepCopy()
	p.Status = desired.Status(p, desired.Outcome{Now: now, Proxies: list, Plan: plan, Ingresses: plans,
		Targets: []desired.TargetOutcome{{Name: target, Containers: []string{"web"}, Rolled: true}}})
	if !isReady(p) {
		return fmt.Errorf("the baseline's status for %s is not Ready: %+v", p.Name, p.Status.Conditions)
	}
	return c.Status().Patch(ctx, p, client.MergeFrom(base))
}

// warmUp waits until a running manager has made one PostHogProxy Ready:
// its caches are synced and its workers run.
func warmUp(ctx context.Context, cl *cluster, ns string) error {
	deployments, proxies := fleet(ns, 1)
	if err := cl.createAll(ctx, append([]client.Object{namespace(ns)}, deployments...)); err != nil {
		return err
	}
	ready, err := watchReady(ctx, cl, ns)
	if err != nil {
		return err
	}
	defer ready.stop()
	if err := cl.c.Create(ctx, proxies[0]); err != nil {
		return err
	}
	_, err = ready.wait(ctx, 1, time.Minute)
	return err
}
