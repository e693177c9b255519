package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// idleResources are converged before the idle window starts.
const idleResources = 20

// idle converges idleResources PostHogProxies under two managers with
// leader election and a short resync, then counts every write the API
// server serves (leases aside) over a window with a resync, a leader
// change and a manager restart, in which nothing changes.
func idle(ctx context.Context, cl *cluster, o options, run int) (writes map[string]float64, err error) {
	ns := fmt.Sprintf("m2-r%d", run)
	const resync = 15 * time.Second
	start := func(name string) (*manager, error) {
		return startManager(cl, o.manager, filepath.Join(o.work, ns+"-"+name+".log"), o.managerFlags(
			"--leader-elect", "--leader-election-namespace=default", "--sync-period="+resync.String(), "--watch-namespaces="+ns)...)
	}
	a, err := start("a")
	if err != nil {
		return nil, err
	}
	defer func() { a.stop(syscall.SIGTERM) }()
	time.Sleep(2 * time.Second) // a leads
	b, err := start("b")
	if err != nil {
		return nil, err
	}
	defer func() { b.stop(syscall.SIGTERM) }()

	deployments, proxies := fleet(ns, idleResources)
	if err := cl.createAll(ctx, append([]client.Object{namespace(ns)}, deployments...)); err != nil {
		return nil, err
	}
	ready, err := watchReady(ctx, cl, ns)
	if err != nil {
		return nil, err
	}
	defer ready.stop()
	if _, err := cl.createTimed(ctx, proxies); err != nil {
		return nil, err
	}
	if _, err := ready.wait(ctx, idleResources, 2*time.Minute); err != nil {
		return nil, err
	}
	// The leader renews its lease: settled is when nothing else is written.
	before, err := cl.settledWrites(ctx, 3*time.Second)
	if err != nil {
		return nil, err
	}
	// Each event below is waited for on the managers' own metrics: a
	// window in which nothing was reconciled would prove nothing.
	done, err := a.reconciles()
	if err != nil {
		return nil, err
	}
	if err := a.waitReconciles(ctx, int(done)+idleResources); err != nil { // the resync
		return nil, err
	}
	a.stop(syscall.SIGTERM)
	if err := b.waitReconciles(ctx, idleResources); err != nil { // b took over
		return nil, err
	}
	if a, err = start("a-restarted"); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second)
	b.stop(syscall.SIGTERM)
	if err := a.waitReconciles(ctx, idleResources); err != nil { // the restarted one took over
		return nil, err
	}
	time.Sleep(3 * time.Second) // writes a reconcile might still send
	after, err := cl.apiserverWrites(ctx)
	if err != nil {
		return nil, err
	}
	writes = map[string]float64{}
	for resource, n := range after {
		if d := n - before[resource]; d > 0 {
			writes[resource] = d
		}
	}
	return writes, nil
}

func total(writes map[string]float64) float64 {
	var sum float64
	for _, n := range writes {
		sum += n
	}
	return sum
}

func describe(writes map[string]float64) string {
	if len(writes) == 0 {
		return "none"
	}
	var parts []string
	for _, resource := range slices.Sorted(maps.Keys(writes)) {
		parts = append(parts, fmt.Sprintf("%s: %.0f", resource, writes[resource]))
	}
	return strings.Join(parts, ", ")
}
