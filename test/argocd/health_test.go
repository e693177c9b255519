// Package argocd runs the Argo CD health check of PostHogProxy with the Lua
// interpreter Argo CD embeds (github.com/yuin/gopher-lua), on fixtures.
package argocd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

func TestHealthLua(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		fixture, status, message string
	}{
		{"new.yaml", "Progressing", "Waiting for the operator to reconcile generation 1"},
		{"spec-changed.yaml", "Progressing", "Waiting for the operator to reconcile generation 3"},
		{"ready.yaml", "Healthy", "PostHog's proxy settings, trusted proxy list and Ingress are applied"},
		{"rollout-pending.yaml", "Progressing", "RolloutPending: the trusted proxy list changed"},
		{"retrying.yaml", "Progressing", "ApplyFailed: retrying after"},
		{"stalled.yaml", "Degraded", "TargetNotFound: Deployment posthog/posthog-web does not exist"},
		{"sparse-condition.yaml", "Degraded", ": "},
		{"no-conditions.yaml", "Progressing", "Waiting for the Ready condition"},
		{"ready-unknown.yaml", "Progressing", "Waiting for the Ready condition"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			status, message := runHealth(t, string(script), filepath.Join("testdata", tt.fixture))
			if status != tt.status || !strings.HasPrefix(message, tt.message) {
				t.Errorf("health = %s %q, want %s %q", status, message, tt.status, tt.message)
			}
		})
	}
}

// runHealth runs the script as Argo CD does: the object as the global obj,
// and the table it returns read as status and message.
func runHealth(t *testing.T, script, fixture string) (string, string) {
	t.Helper()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("%s: %v", fixture, err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("%s: the script returned %s, not a table", fixture, L.Get(-1).Type())
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, item := range v {
			t.RawSetString(k, toLua(L, item))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, item := range v {
			t.Append(toLua(L, item))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	}
	return lua.LNil
}
