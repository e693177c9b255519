// Package image checks what the Dockerfile relies on without building the
// image (no Docker engine runs here): the manager built as the Dockerfile
// builds it is a static binary, and runs as the image's non-root user with
// nothing to write.
package image

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestManagerIsStaticAndRunsAsNonRoot(t *testing.T) {
	// A directory the image's user can reach (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "manager-image-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "manager")
	// As the Dockerfile builds it, less -trimpath, which only changes paths
	// and would miss the build cache.
	build := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader; distroless/static has none")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}

	// As the image's user 65532, from a directory it cannot write.
	sample, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "proxy_v1alpha1_posthogproxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "render")
	run.Dir = "/"
	run.Stdin = strings.NewReader(string(sample))
	if os.Geteuid() == 0 {
		run.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	}
	out, err := run.Output()
	if err != nil {
		t.Fatalf("manager render as user 65532: %v", err)
	}
	if !strings.Contains(string(out), "kind: Ingress") {
		t.Errorf("render printed no Ingress:\n%s", out)
	}
}
