package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// readyTimes records when each PostHogProxy of a namespace first reported
// Ready for its current generation, from a watch.
type readyTimes struct {
	mu    sync.Mutex
	ready map[string]time.Time
	stop  func()
}

func watchReady(ctx context.Context, cl *cluster, ns string) (*readyTimes, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := cl.c.Watch(ctx, &proxyv1.PostHogProxyList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		return nil, err
	}
	rt := &readyTimes{ready: map[string]time.Time{}, stop: func() { cancel(); w.Stop() }}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*proxyv1.PostHogProxy)
			if !ok || ev.Type == watch.Deleted || !isReady(p) {
				continue
			}
			rt.mu.Lock()
			if _, seen := rt.ready[p.Name]; !seen {
				rt.ready[p.Name] = time.Now()
			}
			rt.mu.Unlock()
		}
	}()
	return rt, nil
}

func isReady(p *proxyv1.PostHogProxy) bool {
	c := meta.FindStatusCondition(p.Status.Conditions, proxyv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && p.Status.ObservedGeneration == p.Generation
}

// wait waits until n PostHogProxies are Ready and returns their times.
func (rt *readyTimes) wait(ctx context.Context, n int, timeout time.Duration) (map[string]time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		rt.mu.Lock()
		got := len(rt.ready)
		rt.mu.Unlock()
		if got >= n {
			rt.mu.Lock()
			defer rt.mu.Unlock()
			return rt.ready, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d PostHogProxies Ready after %s", got, n, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
