// Package e2e runs what a person runs: the demo, with the real manager
// binary and kubectl against a local control plane.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The demo is the README's first command; this keeps it working.
func TestDemoRunsTheMainJobEndToEnd(t *testing.T) {
	manager, kubectl := os.Getenv("MANAGER_BIN"), os.Getenv("KUBECTL_BIN")
	if manager == "" || kubectl == "" || os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("MANAGER_BIN, KUBECTL_BIN and KUBEBUILDER_ASSETS must be set: run the tests with `make test`")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The demo's own log stays where make demo puts it; this run logs aside.
	cmd := exec.Command("go", "run", "./hack/demo", "--manager", manager, "--kubectl", kubectl,
		"--manager-log", filepath.Join(t.TempDir(), "manager.log"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"posthogproxy.proxy.posthog-operator.io/posthog condition met",
		"TRUSTED_PROXIES: 10.42.0.15,10.42.1.23,fd00:10:42::17",
		"IS_BEHIND_PROXY\ttrue",
		"ALLOWED_HOSTS\tposthog.example.com",
		"secretName: posthog-tls",
		"10.42.0.15,10.42.1.23,10.42.2.31,fd00:10:42::17",
		`"reason":"the trusted proxy list changed (now 4 entries)"`,
		"The Deployment's annotations and pod template are exactly what they were before the PostHogProxy existed",
		"demo passed",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q\n%s", want, out)
		}
	}
}
