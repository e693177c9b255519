package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/posthog-operator/posthog-proxy-operator/controllers/render"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

// files is a repeatable -f flag.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

// runRender is `manager render`: what the controller would apply, with no
// cluster. It returns the exit code.
func runRender(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var inputs files
	fs.Var(&inputs, "f", "a YAML or JSON file with the PostHogProxy, its target Deployments and, for discovered trusted proxies, EndpointSlices or Services; repeatable; - or none reads standard input")
	presetsFile := fs.String("presets-file", "", "YAML file of trusted proxy presets that add to or replace the built-in ones, as the manager's flag")
	namespace := fs.String("namespace", "default", "namespace of the objects that name none, as kubectl apply would use")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: manager render [-f FILE]... [--namespace NS] [--presets-file FILE]\n\nPrints, as YAML, the ConfigMap, Ingresses and Deployment patches the controller would apply for a PostHogProxy.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var input bytes.Buffer
	if len(inputs) == 0 {
		inputs = files{"-"}
	}
	for _, name := range inputs {
		var data []byte
		var err error
		if name == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			fmt.Fprintln(stderr, "render:", err)
			return 1
		}
		input.Write(data)
		input.WriteString("\n---\n")
	}

	presets, err := trust.BuiltInPresets()
	if err == nil && *presetsFile != "" {
		presets, err = presets.WithFile(*presetsFile)
	}
	if err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return 1
	}
	in, err := render.Read(&input, *namespace)
	if err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return 1
	}
	out := render.Render(in, presets, time.Now())
	for _, p := range out.Problems {
		fmt.Fprintln(stderr, "render: the controller would report", p)
	}
	data, err := out.YAML()
	if err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return 1
	}
	_, _ = stdout.Write(data)
	return 0
}
