package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/edge"
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
	edgeKind := fs.String("edge", "", "instead of the Kubernetes objects, print the configuration of a reverse proxy in front of the ingress controller: nginx or apache")
	var opts edge.Options
	// The flags below mean something only with --edge.
	edgeOnly := map[string]bool{}
	edgeFlag := func(name string) string { edgeOnly[name] = true; return name }
	fs.StringVar(&opts.Upstream, edgeFlag("upstream"), "", "with --edge: host:port of the ingress controller the proxy forwards to")
	fs.Func(edgeFlag("listen-address"), "with --edge: the one address the proxy listens on (default all)", func(v string) (err error) {
		opts.ListenAddress, err = netip.ParseAddr(v)
		return err
	})
	fs.IntVar(&opts.HTTPPort, edgeFlag("http-port"), 80, "with --edge: port for plain HTTP")
	fs.IntVar(&opts.HTTPSPort, edgeFlag("https-port"), 443, "with --edge: port for HTTPS, unless spec.tls.termination is None")
	fs.StringVar(&opts.CertFile, edgeFlag("tls-cert"), "", "with --edge: certificate file presented to clients, unless spec.tls.termination is None")
	fs.StringVar(&opts.KeyFile, edgeFlag("tls-key"), "", "with --edge: key file of --tls-cert")
	fs.StringVar(&opts.UpstreamCA, edgeFlag("upstream-ca"), "", "with --edge and spec.tls.termination Ingress: CA certificates to verify the ingress controller's certificate with (default: encrypted, not verified)")
	fs.Func(edgeFlag("trusted-hops"), "with --edge: comma-separated addresses or ranges of the proxies in front of this one (a CDN), whose X-Forwarded-For and X-Forwarded-Proto are kept", func(v string) error {
		for _, s := range strings.Split(v, ",") {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("an empty entry in %q", v)
			}
		}
		// The rules of spec.trustedProxies.addresses.
		hops, err := trust.Parse(strings.Split(v, ","))
		opts.TrustedHops = append(opts.TrustedHops, hops...)
		return err
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: manager render [-f FILE]... [--namespace NS] [--presets-file FILE]\n       manager render --edge nginx|apache --upstream HOST:PORT [--tls-cert FILE --tls-key FILE] [-f FILE]...\n\nPrints, as YAML, the ConfigMap, Ingresses and Deployment patches the controller would apply for a\nPostHogProxy; with --edge, the NGINX or Apache configuration of a reverse proxy in front of the\ningress controller instead.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *edgeKind == "" {
		var given []string
		fs.Visit(func(f *flag.Flag) {
			if edgeOnly[f.Name] {
				given = append(given, "--"+f.Name)
			}
		})
		if len(given) > 0 {
			fmt.Fprintf(stderr, "render: %s only mean something with --edge nginx or --edge apache\n", strings.Join(given, ", "))
			return 2
		}
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
	if *edgeKind != "" {
		return printEdge(*edgeKind, in, opts, stdout, stderr)
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

func printEdge(kind string, in render.Input, opts edge.Options, stdout, stderr io.Writer) int {
	builders := map[string]func(*proxyv1.PostHogProxy, edge.Options) (string, error){"nginx": edge.NGINX, "apache": edge.Apache}
	build, ok := builders[kind]
	if !ok {
		fmt.Fprintf(stderr, "render: --edge must be nginx or apache, not %q\n", kind)
		return 2
	}
	text, err := build(in.Proxy, opts)
	if err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return 1
	}
	if in.Proxy.Spec.TLS.Termination == proxyv1.TLSNone && (opts.CertFile != "" || opts.KeyFile != "") {
		fmt.Fprintln(stderr, "render: spec.tls.termination is None, so the proxy serves plain HTTP and --tls-cert and --tls-key are not used")
	}
	if in.Proxy.Spec.TLS.Termination != proxyv1.TLSAtIngress && opts.UpstreamCA != "" {
		fmt.Fprintf(stderr, "render: spec.tls.termination is %s, so the proxy forwards plain HTTP and --upstream-ca is not used\n", in.Proxy.Spec.TLS.Termination)
	}
	_, _ = io.WriteString(stdout, text)
	return 0
}
