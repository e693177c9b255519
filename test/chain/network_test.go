package chain

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The backend's network: the API server refuses loopback addresses in an
// EndpointSlice, so PostHog listens in a network namespace of its own,
// reached over a veth pair from an address range reserved for network
// testing (RFC 2544) that no real network uses. Nothing listens outside
// loopback and this namespace.
const (
	netnsName   = "phpx-chain"
	vethHost    = "phpx-chain0"
	vethBackend = "phpx-chain1"
	// hostSide is the address the ingress controller reaches PostHog from,
	// as an ingress controller pod's IP would be.
	hostSide = "198.18.77.1"
	// backendAddr is the PostHog pod's address.
	backendAddr = "198.18.77.2"
)

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// setUpNetwork creates the namespace and the veth pair, after removing
// what an interrupted run left behind. teardown removes both.
func setUpNetwork() (teardown func(), err error) {
	teardown = func() {
		_ = ip("link", "del", vethHost)
		_ = ip("netns", "del", netnsName)
	}
	teardown()
	for _, args := range [][]string{
		{"netns", "add", netnsName},
		{"link", "add", vethHost, "type", "veth", "peer", "name", vethBackend},
		{"link", "set", vethBackend, "netns", netnsName},
		{"addr", "add", hostSide + "/24", "dev", vethHost},
		{"link", "set", vethHost, "up"},
		{"-n", netnsName, "addr", "add", backendAddr + "/24", "dev", vethBackend},
		{"-n", netnsName, "link", "set", vethBackend, "up"},
		{"-n", netnsName, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			teardown()
			return nil, err
		}
	}
	return teardown, nil
}

// listenInNetns opens a TCP listener inside the backend's namespace from
// this process: the socket belongs to the namespace it was created in, and
// serving it needs nothing else from there.
func listenInNetns(addr string) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread switches namespace and back; if switching back fails,
		// it stays locked and Go discards it when this goroutine ends.
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer own.Close()
		target, err := os.Open("/var/run/netns/" + netnsName)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("entering %s: %w", netnsName, err)}
			return
		}
		l, err := net.Listen("tcp", addr)
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{l, err}
	}()
	r := <-done
	return r.l, r.err
}

// freePort is a port free on addr at the time of asking.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
