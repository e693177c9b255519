package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
)

// attempt is one write request as the fault injector saw it.
type attempt struct {
	at     time.Time
	status int // what the injector answered; 0 when it let the request through
}

// faultInjector sits between the manager and the real API server and
// answers some write requests itself, with the status decide picks for the
// request and the number of earlier attempts at the same method and path.
type faultInjector struct {
	decide func(r *http.Request, earlier int) int

	mu       sync.Mutex
	attempts map[string][]attempt
}

func (f *faultInjector) wrap(base *rest.Config) *rest.Config {
	c := rest.CopyConfig(base)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet {
				return rt.RoundTrip(req)
			}
			key := req.Method + " " + req.URL.Path
			f.mu.Lock()
			status := f.decide(req, len(f.attempts[key]))
			f.attempts[key] = append(f.attempts[key], attempt{at: time.Now(), status: status})
			f.mu.Unlock()
			if status == 0 {
				return rt.RoundTrip(req)
			}
			return faultResponse(req, status), nil
		})
	})
	return c
}

// faultResponse is what the API server itself sends for the status.
func faultResponse(req *http.Request, status int) *http.Response {
	reason := map[int]metav1.StatusReason{
		http.StatusConflict:            metav1.StatusReasonConflict,
		http.StatusTooManyRequests:     metav1.StatusReasonTooManyRequests,
		http.StatusInternalServerError: metav1.StatusReasonInternalError,
		http.StatusServiceUnavailable:  metav1.StatusReasonServiceUnavailable,
	}[status]
	body, _ := json.Marshal(metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(status), Reason: reason,
		Message: "injected " + string(reason),
	})
	header := http.Header{"Content-Type": {"application/json"}}
	if status == http.StatusTooManyRequests {
		header.Set("Retry-After", "1")
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
}

// snapshot copies the attempts seen so far.
func (f *faultInjector) snapshot() map[string][]attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]attempt{}
	for k, v := range f.attempts {
		out[k] = append([]attempt(nil), v...)
	}
	return out
}

// startFaultyManager runs a manager of the test's own, for the
// PostHogProxies labelled with label, whose requests go through f.
func startFaultyManager(t *testing.T, label string, f *faultInjector) {
	t.Helper()
	f.attempts = map[string][]attempt{}
	opts := controllers.CacheOptions()
	selector, err := labels.Parse(unmanagedLabel + "=" + label)
	Expect(err).NotTo(HaveOccurred())
	opts.ByObject[&proxyv1.PostHogProxy{}] = cache.ByObject{Label: selector}
	mgr, err := ctrl.NewManager(f.wrap(cfg), ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      opts,
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	r := &controllers.PostHogProxyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Presets: presets}
	Expect(r.SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		Expect(<-done).To(Succeed())
	})
}

// Every write the manager makes fails twice before it passes — a conflict,
// throttling with Retry-After, a 500 and a 503 in turn — while the specs
// change under it. Every PostHogProxy converges to its latest spec, the
// throttled requests wait as told, and once converged nothing is written.
func TestConflictsThrottlingAndServerErrorsLoseNoUpdate(t *testing.T) {
	ctx := context.Background()
	RegisterTestingT(t)
	rotation := []int{http.StatusConflict, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable}
	next := 0
	f := &faultInjector{decide: func(_ *http.Request, earlier int) int {
		if earlier >= 2 {
			return 0
		}
		next++
		return rotation[next%len(rotation)]
	}}
	var proxies []*proxyv1.PostHogProxy
	for range 4 {
		_, ns := startWithPostHog(t)
		p := sampleProxy(ns, "posthog")
		p.Labels = map[string]string{unmanagedLabel: "retries"}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		proxies = append(proxies, p)
	}
	startFaultyManager(t, "retries", f)

	time.Sleep(500 * time.Millisecond)
	for _, p := range proxies {
		Eventually(func(g Gomega) {
			live := getProxy(g, client.ObjectKeyFromObject(p))
			live.Spec.TrustedProxies.Addresses = append(live.Spec.TrustedProxies.Addresses, "192.0.2.10")
			g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
		}).Should(Succeed())
	}
	for _, p := range proxies {
		Eventually(func(g Gomega) { expectConverged(g, p, "10.0.0.7,10.0.0.12,192.0.2.10,2001:db8::1") }).
			WithTimeout(90*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(), p.Namespace)
	}

	seen := map[int]int{}
	for key, attempts := range f.snapshot() {
		for i, a := range attempts {
			seen[a.status]++
			if a.status == http.StatusTooManyRequests && i+1 < len(attempts) {
				Expect(attempts[i+1].at.Sub(a.at)).To(BeNumerically(">=", 900*time.Millisecond),
					"%s was retried before the Retry-After of its 429", key)
			}
		}
	}
	for _, status := range rotation {
		Expect(seen[status]).To(BeNumerically(">", 0), "no %d was injected", status)
	}

	settled := f.snapshot()
	Consistently(func() map[string][]attempt { return f.snapshot() }).
		WithTimeout(2*time.Second).Should(Equal(settled), "converged PostHogProxies went on writing")
}

// A Deployment that refuses every patch for a while is retried with a
// growing delay, not in a tight loop, and is patched once it accepts.
func TestFailingTargetIsRetriedWithBackoff(t *testing.T) {
	ctx := context.Background()
	_, ns := startWithPostHog(t)
	outage := 3 * time.Second
	var until time.Time
	f := &faultInjector{decide: func(r *http.Request, _ int) int {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/namespaces/"+ns+"/deployments/posthog-web") {
			if until.IsZero() {
				until = time.Now().Add(outage)
			}
			if time.Now().Before(until) {
				return http.StatusServiceUnavailable
			}
		}
		return 0
	}}
	p := sampleProxy(ns, "posthog")
	p.Labels = map[string]string{unmanagedLabel: "backoff"}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	startFaultyManager(t, "backoff", f)

	Eventually(func(g Gomega) { expectConverged(g, p, "10.0.0.7,10.0.0.12,2001:db8::1") }).
		WithTimeout(30 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
	attempts := f.snapshot()["PATCH /apis/apps/v1/namespaces/"+ns+"/deployments/posthog-web"]
	failed := 0
	for _, a := range attempts {
		if a.status != 0 {
			failed++
		}
	}
	// Doubling from 5ms, a 3s outage fits about ten attempts; a tight loop
	// would make thousands.
	Expect(failed).To(BeNumerically(">=", 4), "retried too little to show the backoff")
	Expect(failed).To(BeNumerically("<=", 14), "retried in a tight loop")
	// Not strictly growing: a watch event (our own status write) may queue
	// one retry early, and a busy machine adds jitter to the short first
	// delays. The later half must still wait far longer than the first.
	var gaps []time.Duration
	for i := 1; i < failed; i++ {
		gaps = append(gaps, attempts[i].at.Sub(attempts[i-1].at))
	}
	mean := func(d []time.Duration) time.Duration {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return sum / time.Duration(len(d))
	}
	early, late := mean(gaps[:len(gaps)/2]), mean(gaps[len(gaps)/2:])
	Expect(late).To(BeNumerically(">", 4*early), "delays did not grow: %v", gaps)
	Expect(slices.Max(gaps)).To(BeNumerically(">=", 250*time.Millisecond), "never backed off far: %v", gaps)
	Expect(attempts[len(attempts)-1].status).To(Equal(0), "the last attempt went through")
	got := getProxy(Default, client.ObjectKeyFromObject(p))
	Expect(condition(got, proxyv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
}
