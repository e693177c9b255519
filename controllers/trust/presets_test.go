package trust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltInCloudflarePreset(t *testing.T) {
	presets, err := BuiltInPresets()
	if err != nil {
		t.Fatal(err)
	}
	cf, ok := presets["cloudflare"]
	if !ok {
		t.Fatalf("no cloudflare preset among %v", presets.Names())
	}
	if cf.Version == "" {
		t.Error("the cloudflare preset has no version")
	}
	l := Merge(Source{Entries: cf.Entries})
	if l.Len() != 22 {
		t.Errorf("cloudflare preset has %d entries, want the 15 IPv4 and 7 IPv6 ranges", l.Len())
	}
	for _, want := range []string{"173.245.48.0/20", "104.16.0.0/13", "2400:cb00::/32", "2a06:98c0::/29"} {
		if !strings.Contains(","+l.Value()+",", ","+want+",") {
			t.Errorf("cloudflare preset lacks %s", want)
		}
	}
}

func TestPresetsFileAddsAndReplaces(t *testing.T) {
	base, err := BuiltInPresets()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "presets.yaml")
	writeFile(t, file, `presets:
  cloudflare:
    version: "2026-12-01"
    entries: [173.245.48.0/20]
  office:
    version: v1
    entries: [203.0.113.7, 2001:db8::7]
`)
	got, err := base.WithFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got["cloudflare"].Version != "2026-12-01" || len(got["cloudflare"].Entries) != 1 {
		t.Errorf("cloudflare = %+v, want the file's version and single entry", got["cloudflare"])
	}
	if got["office"].Version != "v1" || len(got["office"].Entries) != 2 {
		t.Errorf("office = %+v", got["office"])
	}
	if base["cloudflare"].Version == "2026-12-01" {
		t.Error("WithFile changed the presets it was called on")
	}

	for _, bad := range []struct{ name, content, want string }{
		{"bad entry", "presets:\n  x:\n    version: v1\n    entries: [10.0.0.0/0]\n", "preset x"},
		{"no version", "presets:\n  x:\n    entries: [10.0.0.1]\n", "needs a version"},
		{"blank version", "presets:\n  x:\n    version: ' '\n    entries: [10.0.0.1]\n", "needs a version"},
		{"a name no spec can use", "presets:\n  Office_VPN:\n    version: v1\n    entries: [10.0.0.1]\n", "cannot be named in spec.trustedProxies.presets"},
		{"unknown field", "presets:\n  x:\n    version: v1\n    entries: [10.0.0.1]\n    ranges: []\n", "unknown field"},
	} {
		writeFile(t, file, bad.content)
		if _, err := base.WithFile(file); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error = %v, want one containing %q", bad.name, err, bad.want)
		}
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
