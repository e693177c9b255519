// Command bench measures the operator against the physical limit on a
// local control plane — writes, idle writes, bulk convergence, cache
// memory and pod rollouts — and writes the results to BENCHMARKS.md. Run it
// with `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

type options struct {
	manager, out, work string
	runs               int
	sizes              []int
	qps                float64
	burst, concurrency int
	noise              int
}

// managerFlags are the rate limit and worker count every measured manager
// runs with; the baseline uses the same.
func (o options) managerFlags(extra ...string) []string {
	return append([]string{
		"--kube-api-qps=" + strconv.FormatFloat(o.qps, 'f', -1, 64),
		"--kube-api-burst=" + strconv.Itoa(o.burst),
		"--concurrent-reconciles=" + strconv.Itoa(o.concurrency),
	}, extra...)
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.manager, "manager", "bin/manager", "the manager binary to measure")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the results")
	flag.IntVar(&o.runs, "runs", 3, "runs of each measurement; the median is reported, with min and max")
	flag.StringVar(&sizes, "sizes", "100,500,1000", "numbers of PostHogProxies for bulk convergence; the middle one is the target's")
	flag.Float64Var(&o.qps, "qps", 50, "client rate limit of the manager and of the baseline, per kind of object")
	flag.IntVar(&o.burst, "burst", 75, "client burst of the manager and of the baseline")
	flag.IntVar(&o.concurrency, "concurrency", 4, "reconcile workers of the manager, and workers of the baseline")
	flag.IntVar(&o.noise, "noise", 5000, "unrelated Deployments, ConfigMaps and EndpointSlices each for cache isolation")
	flag.Parse()
	// The control plane's own output is not the measurement.
	logf.SetLogger(logr.Discard())
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad -sizes:", err)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	work, err := os.MkdirTemp("", "posthog-proxy-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	o.work = work
	cl, err := startCluster(work)
	if err != nil {
		return err
	}
	defer cl.stop()

	rep := &report{options: o, command: command()}
	// Memory first, on a cluster holding nothing else of the operator's:
	// the later measurements watch only their own namespaces.
	for run := range o.runs {
		peak, err := peakMemory(ctx, cl, o, fmt.Sprintf("m4-quiet-r%d", run))
		if err != nil {
			return fmt.Errorf("memory without unrelated objects: %w", err)
		}
		fmt.Printf("memory run %d, no unrelated objects: peak RSS %.1f MiB\n", run, mib(peak))
		rep.quietRSS = append(rep.quietRSS, float64(peak))
	}
	if err := noise(ctx, cl, o.noise); err != nil {
		return fmt.Errorf("creating unrelated objects: %w", err)
	}
	for run := range o.runs {
		peak, err := peakMemory(ctx, cl, o, fmt.Sprintf("m4-noisy-r%d", run))
		if err != nil {
			return fmt.Errorf("memory with unrelated objects: %w", err)
		}
		fmt.Printf("memory run %d, %d unrelated objects of each kind: peak RSS %.1f MiB\n", run, o.noise, mib(peak))
		rep.noisyRSS = append(rep.noisyRSS, float64(peak))
	}
	for _, n := range o.sizes {
		for run := range o.runs {
			r, err := bulk(ctx, cl, o, n, run)
			if err != nil {
				return fmt.Errorf("bulk convergence, N=%d: %w", n, err)
			}
			fmt.Printf("bulk N=%d run %d: operator %s, baseline %s, p50 %s, p99 %s, %.0f writes, %.0f reads\n",
				n, run, r.operator.Round(time.Millisecond), r.baseline.Round(time.Millisecond), r.p50, r.p99, r.writes, r.reads)
			rep.bulk = append(rep.bulk, r)
		}
	}
	for run := range o.runs {
		writes, err := idle(ctx, cl, o, run)
		if err != nil {
			return fmt.Errorf("idle writes: %w", err)
		}
		fmt.Printf("idle run %d: %.0f writes (%s)\n", run, total(writes), describe(writes))
		rep.idle = append(rep.idle, writes)
	}
	for run := range o.runs {
		r, err := rollout(ctx, cl, o, run)
		if err != nil {
			return fmt.Errorf("rollout amplification: %w", err)
		}
		fmt.Printf("rollout run %d: %d pod template changes for %d effective changes\n", run, r.templateChanges, r.effectiveChanges)
		rep.rollout = append(rep.rollout, r)
	}
	rep.took = time.Since(began)
	return rep.write(o.out)
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// command is how to run this measurement again.
func command() string {
	var set []string
	flag.Visit(func(f *flag.Flag) {
		if f.Name != "manager" && f.Name != "out" {
			set = append(set, "-"+f.Name+"="+f.Value.String())
		}
	})
	if len(set) == 0 {
		return "make bench"
	}
	return "make bench BENCH_FLAGS='" + strings.Join(set, " ") + "'"
}
