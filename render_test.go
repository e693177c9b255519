package main

import (
	"bytes"
	"strings"
	"testing"
)

const edgeInput = `apiVersion: proxy.posthog-operator.io/v1alpha1
kind: PostHogProxy
metadata: {name: posthog}
spec:
  targets: [{name: posthog-web}]
  hosts: [posthog.example.com]
  tls: {termination: LoadBalancer}
  trustedProxies: {addresses: [10.0.5.20]}
  ingress: {service: {name: posthog-web, port: {number: 8000}}}
`

func TestRenderEdgeFlags(t *testing.T) {
	tls := []string{"--tls-cert", "/etc/ssl/p.pem", "--tls-key", "/etc/ssl/p.key"}
	cases := []struct {
		name   string
		args   []string
		code   int
		output string // on standard output with code 0, else on standard error
	}{
		{"nginx", append([]string{"--edge", "nginx", "--upstream", "10.0.0.5:80", "--trusted-hops", "173.245.48.0/20, 10.0.0.1"}, tls...), 0,
			"    10.0.0.1/32 1;\n"},
		{"apache", append([]string{"--edge", "apache", "--upstream", "10.0.0.5:80", "--https-port", "8443"}, tls...), 0,
			`"https://%{SERVER_NAME}:8443%{REQUEST_URI}"`},
		{"unknown kind", append([]string{"--edge", "haproxy", "--upstream", "10.0.0.5:80"}, tls...), 2, "--edge must be nginx or apache"},
		{"no upstream", append([]string{"--edge", "nginx"}, tls...), 1, "host:port of the ingress controller"},
		{"no certificate", []string{"--edge", "nginx", "--upstream", "10.0.0.5:80"}, 1, "give its certificate file (--tls-cert)"},
		{"hop with host bits", []string{"--edge", "nginx", "--trusted-hops", "10.0.0.1/8"}, 2, "has host bits set; write the network as 10.0.0.0/8"},
		{"hop with a zone", []string{"--edge", "nginx", "--trusted-hops", "fe80::1%eth0"}, 2, "IPv6 zone"},
		{"hop not an address", []string{"--edge", "nginx", "--trusted-hops", "cdn.example.com"}, 2, "invalid value"},
		{"listen address", []string{"--edge", "nginx", "--listen-address", "localhost"}, 2, "invalid value"},
		{"empty hop", []string{"--edge", "nginx", "--trusted-hops", "10.0.0.1,,10.0.0.2"}, 2, `an empty entry in "10.0.0.1,,10.0.0.2"`},
		{"edge flags without --edge", []string{"--upstream", "10.0.0.5:80", "--tls-cert", "c.pem"}, 2, "--tls-cert, --upstream only mean something with --edge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runRender(c.args, strings.NewReader(edgeInput), &stdout, &stderr)
			out := stderr.String()
			if c.code == 0 {
				out = stdout.String()
			}
			if code != c.code || !strings.Contains(out, c.output) {
				t.Errorf("exit %d, output:\n%s\nstderr:\n%s\nwant exit %d and %q", code, stdout.String(), stderr.String(), c.code, c.output)
			}
		})
	}
}
