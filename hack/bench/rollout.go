package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

type rolloutRun struct {
	// templateChanges are the changes of the PostHog Deployment's pod
	// template: each rolls every PostHog pod.
	templateChanges int
	// effectiveChanges are the changes of what a PostHog pod started at
	// that moment would read — its variables, with the trusted proxy list
	// read from the ConfigMap — between the settled points of the script.
	effectiveChanges int
	// mismatch names the steps whose roll and change disagree: a roll
	// without a change, or a change without a roll.
	mismatch string
}

// expectedEffectiveChanges are the script's real changes: the first
// configuration, an added address, the ingress controller's new pods, the
// end of the old ones' grace, an added host.
const expectedEffectiveChanges = 5

// templateWatch counts the pod template changes of one Deployment.
type templateWatch struct {
	mu      sync.Mutex
	last    string
	changes int
	at      time.Time
	stop    func()
	closed  bool
}

// err says whether the watch ended early, which would undercount.
func (tw *templateWatch) err() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.closed {
		return fmt.Errorf("the Deployment watch closed before the script ended")
	}
	return nil
}

func watchTemplate(ctx context.Context, cl *cluster, ns, name string) (*templateWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := cl.c.Watch(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		return nil, err
	}
	tw := &templateWatch{stop: func() { cancel(); w.Stop() }, at: time.Now()}
	go func() {
		defer func() {
			tw.mu.Lock()
			tw.closed = ctx.Err() == nil
			tw.mu.Unlock()
		}()
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.Name != name {
				continue
			}
			data, _ := json.Marshal(d.Spec.Template)
			tw.mu.Lock()
			if tw.last != "" && tw.last != string(data) {
				tw.changes++
				tw.at = time.Now()
			}
			tw.last = string(data)
			tw.mu.Unlock()
		}
	}()
	return tw, nil
}

func (tw *templateWatch) state() (changes int, quietFor time.Duration) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.changes, time.Since(tw.at)
}

// rollout runs a script of real changes, no-op edits, reorders, manager
// restarts and an ingress controller rollout against one PostHog
// Deployment, and counts its pod template changes against the changes of
// its effective configuration.
func rollout(ctx context.Context, cl *cluster, o options, run int) (rolloutRun, error) {
	var r rolloutRun
	ns, ingressNS := fmt.Sprintf("m5-r%d", run), fmt.Sprintf("m5-ingress-r%d", run)
	ingress := []client.Object{namespace(ingressNS),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "controller", Namespace: ingressNS},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}},
		controllerSlice(ingressNS, "10.1.0.1", "10.1.0.2")}
	if err := cl.createAll(ctx, append(ingress, namespace(ns), postHogWeb(ns, "posthog-web"))); err != nil {
		return r, err
	}
	tw, err := watchTemplate(ctx, cl, ns, "posthog-web")
	if err != nil {
		return r, err
	}
	defer tw.stop()
	logPath := filepath.Join(o.work, ns+".log")
	flags := o.managerFlags("--watch-namespaces=" + ns + "," + ingressNS)
	m, err := startManager(cl, o.manager, logPath, flags...)
	if err != nil {
		return r, err
	}
	defer func() { m.stop(syscall.SIGTERM) }()

	proxy := postHogProxy(ns, "posthog", "posthog-web", "posthog.example.com")
	proxy.Spec.TrustedProxies.Services = []proxyv1.ServiceReference{{Namespace: ingressNS, Name: "controller"}}
	proxy.Spec.TrustedProxies.Rollout = proxyv1.RolloutPolicy{
		Window: &metav1.Duration{Duration: 2 * time.Second}, Grace: &metav1.Duration{Duration: 10 * time.Second}}
	key := client.ObjectKeyFromObject(proxy)
	edit := func(change func(*proxyv1.PostHogProxy)) func() error {
		return func() error {
			p := &proxyv1.PostHogProxy{}
			if err := cl.c.Get(ctx, key, p); err != nil {
				return err
			}
			change(p)
			return cl.c.Update(ctx, p)
		}
	}
	// A restarted manager has looked at the PostHogProxy before the step
	// settles.
	restart := func() error {
		m.stop(syscall.SIGTERM)
		if m, err = startManager(cl, o.manager, logPath, flags...); err != nil {
			return err
		}
		return m.waitReconciles(ctx, 1)
	}
	endpoints := func(addresses ...string) func() error {
		return func() error { return cl.c.Update(ctx, controllerSlice(ingressNS, addresses...)) }
	}
	// Each step settles before the next; a step that ends while old
	// addresses are in their grace period is sampled then, too.
	type step struct {
		do           func() error
		whileLeaving bool
	}
	wait := func() error { return nil }
	steps := []step{
		{do: func() error { return cl.c.Create(ctx, proxy) }},
		{do: edit(func(p *proxyv1.PostHogProxy) {
			p.Spec.TrustedProxies.Addresses = append(p.Spec.TrustedProxies.Addresses, "10.0.0.9")
		})},
		{do: edit(func(p *proxyv1.PostHogProxy) { slices.Reverse(p.Spec.TrustedProxies.Addresses) })},
		{do: edit(func(p *proxyv1.PostHogProxy) { p.Labels = map[string]string{"team": "analytics"} })},
		{do: restart},
		// An ingress controller rollout: pods replaced one by one, within
		// the rollout window; the old addresses stay trusted for the grace
		// period, then go.
		{do: func() error {
			for _, addresses := range [][]string{{"10.1.0.2", "10.1.0.3"}, {"10.1.0.3", "10.1.0.4"}} {
				if err := endpoints(addresses...)(); err != nil {
					return err
				}
				time.Sleep(300 * time.Millisecond)
			}
			return nil
		}, whileLeaving: true},
		{do: wait},
		{do: edit(func(p *proxyv1.PostHogProxy) { p.Spec.Hosts = append(p.Spec.Hosts, "eu.posthog.example.com") })},
		{do: edit(func(p *proxyv1.PostHogProxy) { p.Spec.TrustedProxies.Addresses[0] += "/32" })},
		{do: restart},
	}
	first, err := effective(ctx, cl, ns)
	if err != nil {
		return r, err
	}
	samples := []string{first}
	var mismatches []string
	for i, step := range steps {
		before, _ := tw.state()
		if err := step.do(); err != nil {
			return r, fmt.Errorf("step %d: %w", i+1, err)
		}
		// Settled: Ready, nothing waiting for a rollout window or a grace
		// period, and the pod template unchanged for a while.
		if err := settle(ctx, cl, key, tw, step.whileLeaving); err != nil {
			return r, fmt.Errorf("step %d: %w (manager log: %s)", i+1, err, logPath)
		}
		sample, err := effective(ctx, cl, ns)
		if err != nil {
			return r, err
		}
		after, _ := tw.state()
		rolls, changed := after-before, sample != samples[len(samples)-1]
		r.templateChanges += rolls
		if changed {
			r.effectiveChanges++
		}
		if (changed && rolls != 1) || (!changed && rolls != 0) {
			mismatches = append(mismatches, fmt.Sprintf("step %d rolled %d times, effective config changed: %v", i+1, rolls, changed))
		}
		samples = append(samples, sample)
	}
	if r.effectiveChanges != expectedEffectiveChanges {
		mismatches = append(mismatches, fmt.Sprintf("%d effective changes, the script makes %d", r.effectiveChanges, expectedEffectiveChanges))
	}
	if err := tw.err(); err != nil {
		return r, err
	}
	r.mismatch = strings.Join(mismatches, "; ")
	return r, nil
}

func controllerSlice(ns string, addresses ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "controller-a", Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: "controller"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
	}
	for _, a := range addresses {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return s
}

func settle(ctx context.Context, cl *cluster, key client.ObjectKey, tw *templateWatch, whileLeaving bool) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		p := &proxyv1.PostHogProxy{}
		if err := cl.c.Get(ctx, key, p); err != nil {
			return err
		}
		_, quiet := tw.state()
		tp := p.Status.TrustedProxies
		switch {
		case !isReady(p) || tp == nil || tp.PendingSince != nil:
		case whileLeaving && len(tp.Leaving) > 0 && quiet > 500*time.Millisecond:
			return nil
		case !whileLeaving && len(tp.Leaving) == 0 && quiet > 3*time.Second:
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not settle in a minute", key)
}

// effective is what a PostHog pod started now would read: each
// container's variables, values from ConfigMaps read as the kubelet would.
func effective(ctx context.Context, cl *cluster, ns string) (string, error) {
	d := &appsv1.Deployment{}
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "posthog-web"}, d); err != nil {
		return "", err
	}
	var lines []string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			value := e.Value
			if ref := e.ValueFrom; ref != nil && ref.ConfigMapKeyRef != nil {
				cm := &corev1.ConfigMap{}
				if err := cl.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.ConfigMapKeyRef.Name}, cm); err != nil {
					return "", err
				}
				value = cm.Data[ref.ConfigMapKeyRef.Key]
			}
			lines = append(lines, c.Name+"/"+e.Name+"="+value)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}
