package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// manager is bin/manager running as its own process, as in a cluster, so
// that its memory and its API requests are its own.
type manager struct {
	cmd     *exec.Cmd
	metrics string
	log     string
}

func startManager(cl *cluster, bin, logPath string, args ...string) (*manager, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, append([]string{"--metrics-bind-address=" + addr, "--health-probe-bind-address=0", "--zap-log-level=error"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cl.kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A killed benchmark leaves no manager behind to skew the next.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	m := &manager{cmd: cmd, metrics: addr, log: logPath}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := m.scrape(); err == nil {
			return m, nil
		} else if time.Now().After(deadline) {
			m.stop(syscall.SIGKILL)
			return nil, fmt.Errorf("the manager's metrics did not answer: %w (log: %s)", err, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *manager) stop(sig syscall.Signal) {
	_ = m.cmd.Process.Signal(sig)
	_ = m.cmd.Wait()
}

// scrape reads the manager's metrics as name{labels} -> value.
func (m *manager) scrape() (map[string]float64, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out := map[string]float64{}
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, err
		}
		out[line[:i]] = v
	}
	return out, scanner.Err()
}

// requests counts the manager's API requests from client-go's metrics:
// writes (POST, PUT, PATCH, DELETE) and everything else.
func (m *manager) requests() (writes, reads float64, err error) {
	metrics, err := m.scrape()
	if err != nil {
		return 0, 0, err
	}
	for key, v := range metrics {
		if !strings.HasPrefix(key, "rest_client_requests_total{") {
			continue
		}
		if isWrite(label(key, "method")) {
			writes += v
		} else {
			reads += v
		}
	}
	return writes, reads, nil
}

// settledWrites waits until the manager has written nothing for quiet, and
// returns its writes and reads so far.
func (m *manager) settledWrites(ctx context.Context, quiet time.Duration) (writes, reads float64, err error) {
	last, since := -1.0, time.Now()
	deadline := since.Add(2 * time.Minute)
	for {
		w, r, err := m.requests()
		if err != nil {
			return 0, 0, err
		}
		if w != last {
			last, since = w, time.Now()
		} else if time.Since(since) >= quiet {
			return w, r, nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("the manager kept writing for 2 minutes (log: %s)", m.log)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// peakRSS is the most resident memory the process has had, in bytes.
func (m *manager) peakRSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", m.cmd.Process.Pid)
}

// waitReconciles waits until the manager has finished at least n
// reconciles and has none queued.
func (m *manager) waitReconciles(ctx context.Context, n int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		metrics, err := m.scrape()
		if err != nil {
			return err
		}
		done, queued := reconcileState(metrics)
		if done >= float64(n) && queued == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager did %.0f of %d reconciles in 2 minutes (log: %s)", done, n, m.log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reconciles is how many reconciles the manager has finished.
func (m *manager) reconciles() (float64, error) {
	metrics, err := m.scrape()
	if err != nil {
		return 0, err
	}
	done, _ := reconcileState(metrics)
	return done, nil
}

func reconcileState(metrics map[string]float64) (done, queued float64) {
	for key, v := range metrics {
		switch {
		case label(key, "controller") != "posthogproxy":
		case strings.HasPrefix(key, "controller_runtime_reconcile_total{"):
			done += v
		case strings.HasPrefix(key, "workqueue_depth{"):
			queued += v
		}
	}
	return done, queued
}
