package trust

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Preset is a named, versioned list of trusted proxies.
type Preset struct {
	Version string
	Entries []Entry
}

// Presets are the presets the operator knows, by name.
type Presets map[string]Preset

//go:embed presets/*.txt
var builtIn embed.FS

// BuiltInPresets are the presets shipped with the operator. Each file under
// presets/ is one preset: one entry a line, '#' comments, and a
// "# version: ..." line.
func BuiltInPresets() (Presets, error) {
	files, err := fs.Glob(builtIn, "presets/*.txt")
	if err != nil {
		return nil, err
	}
	out := Presets{}
	for _, f := range files {
		data, err := builtIn.ReadFile(f)
		if err != nil {
			return nil, err
		}
		p, err := parsePresetText(string(data))
		if err != nil {
			return nil, fmt.Errorf("preset %s: %w", f, err)
		}
		out[strings.TrimSuffix(path.Base(f), ".txt")] = p
	}
	return out, nil
}

func parsePresetText(text string) (Preset, error) {
	var p Preset
	var entries []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "# version:"); ok {
			p.Version = strings.TrimSpace(v)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		entries = append(entries, line)
	}
	var err error
	p.Entries, err = Parse(entries)
	return p, err
}

// presetsFile is the shape of --presets-file: presets to add, or to replace
// built-in ones of the same name.
type presetsFile struct {
	Presets map[string]struct {
		Version string   `json:"version"`
		Entries []string `json:"entries"`
	} `json:"presets"`
}

// WithFile returns the presets with those of a YAML file added or replaced:
//
//	presets:
//	  cloudflare:
//	    version: "2026-12-01"
//	    entries: [173.245.48.0/20, ...]
func (p Presets) WithFile(name string) (Presets, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var file presetsFile
	if err := yaml.UnmarshalStrict(data, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := maps.Clone(p)
	for presetName, def := range file.Presets {
		if errs := validation.IsDNS1123Label(presetName); len(errs) > 0 {
			return nil, fmt.Errorf("%s: preset name %q cannot be named in spec.trustedProxies.presets: %s", name, presetName, strings.Join(errs, "; "))
		}
		if strings.TrimSpace(def.Version) == "" || len(def.Entries) == 0 {
			return nil, fmt.Errorf("%s: preset %s needs a version and at least one entry", name, presetName)
		}
		entries, err := Parse(def.Entries)
		if err != nil {
			return nil, fmt.Errorf("%s: preset %s: %w", name, presetName, err)
		}
		out[presetName] = Preset{Version: def.Version, Entries: entries}
	}
	return out, nil
}

// Names are the preset names, sorted.
func (p Presets) Names() []string {
	return slices.Sorted(maps.Keys(p))
}
