package chain

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The backend's network: the API server refuses loopback addresses in an
// EndpointSlice, so PostHog listens in a network namespace of its own,
// reached over a veth pair from a /24 of the range reserved for network
// testing (RFC 2544, 198.18.0.0/15) that no real network uses. Names carry
// the test process's ID, so that runs side by side do not collide. Nothing
// listens outside loopback and this namespace.
var (
	netnsName, vethHost, vethBackend string
	// hostSide is the address the ingress controller reaches PostHog from,
	// as an ingress controller pod's IP would be.
	hostSide string
	// backendAddr is the PostHog pod's address.
	backendAddr string
)

const netnsPrefix = "phpx-"

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// setUpNetwork creates the namespace and the veth pair in a /24 no other
// interface uses, after removing what runs that were killed left behind.
// teardown removes both.
func setUpNetwork() (teardown func(), err error) {
	removeAbandoned()
	pid := os.Getpid()
	netnsName, vethHost, vethBackend = fmt.Sprintf("%s%d", netnsPrefix, pid), fmt.Sprintf("phpx%dh", pid), fmt.Sprintf("phpx%db", pid)
	subnet, err := freeSubnet(pid)
	if err != nil {
		return nil, err
	}
	hostSide, backendAddr = subnet+".1", subnet+".2"
	teardown = func() {
		_ = ip("link", "del", vethHost)
		_ = ip("netns", "del", netnsName)
	}
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

// removeAbandoned deletes the namespaces (and with them the veth pairs) of
// runs whose process is gone.
func removeAbandoned() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(strings.TrimPrefix(name, netnsPrefix))
		if !strings.HasPrefix(name, netnsPrefix) || err != nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = ip("link", "del", fmt.Sprintf("phpx%dh", pid))
			_ = ip("netns", "del", name)
		}
	}
}

// freeSubnet is the first 198.18.x.0/24, from one the process ID picks,
// that no interface of this machine has an address in.
func freeSubnet(pid int) (string, error) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return "", err
	}
	for i := range 256 {
		subnet := fmt.Sprintf("198.18.%d", (pid+i)%256)
		if !strings.Contains(string(out), " "+subnet+".") {
			return subnet, nil
		}
	}
	return "", fmt.Errorf("every /24 of 198.18.0.0/16 is in use here")
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
