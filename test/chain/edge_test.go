package chain

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

// edgeProxy is NGINX or Apache httpd in front of the ingress controller,
// configured by `manager render --edge`.
type edgeProxy struct {
	*process
	kind, addr          string
	httpPort, httpsPort int
}

func (e *edgeProxy) httpAddr() string  { return net.JoinHostPort(e.addr, strconv.Itoa(e.httpPort)) }
func (e *edgeProxy) httpsAddr() string { return net.JoinHostPort(e.addr, strconv.Itoa(e.httpsPort)) }

// renderEdge runs `manager render --edge` for the resource, as a user
// would, and returns the configuration it printed.
func renderEdge(t *testing.T, proxy *proxyv1.PostHogProxy, kind string, args ...string) string {
	t.Helper()
	input := proxy.DeepCopy()
	input.ManagedFields, input.Status = nil, proxyv1.PostHogProxyStatus{}
	input.APIVersion, input.Kind = proxyv1.GroupVersion.String(), "PostHogProxy"
	data, err := yaml.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "posthogproxy.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bins.manager, append([]string{"render", "--edge", kind, "-f", file}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("manager render --edge %s: %v\n%s", kind, err, stderr.String())
	}
	return string(out)
}

// edgeSpec is one outer proxy: NGINX or Apache, the address it listens
// on, where it forwards, the proxies in front of it, and the CA it checks
// the ingress controller's certificate with when it re-encrypts.
type edgeSpec struct {
	kind, addr, upstream string
	hops                 []string
	upstreamCA           string
}

// startEdge renders, checks and starts one outer proxy. It is stopped when
// the test ends.
func startEdge(t *testing.T, proxy *proxyv1.PostHogProxy, spec edgeSpec) *edgeProxy {
	t.Helper()
	kind, addr := spec.kind, spec.addr
	e := &edgeProxy{kind: kind, addr: addr}
	var err error
	if e.httpPort, err = freePort(addr); err == nil {
		e.httpsPort, err = freePort(addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--upstream", spec.upstream, "--listen-address", addr,
		"--http-port", strconv.Itoa(e.httpPort), "--https-port", strconv.Itoa(e.httpsPort),
		"--tls-cert", certs.certFile, "--tls-key", certs.keyFile}
	if len(spec.hops) > 0 {
		args = append(args, "--trusted-hops", strings.Join(spec.hops, ","))
	}
	if spec.upstreamCA != "" {
		args = append(args, "--upstream-ca", spec.upstreamCA)
	}
	site := renderEdge(t, proxy, kind, args...)
	dir := serverDir(t, kind)
	if err := os.WriteFile(filepath.Join(dir, "posthog.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	var bin string
	var run []string
	switch kind {
	case "nginx":
		conf := writeNGINXMain(t, dir, addr)
		if out, err := nginxTest(conf); err != nil {
			t.Fatalf("nginx -t refused the rendered configuration: %v\n%s\n%s", err, out, site)
		}
		bin, run = filepath.Join(bins.proxiesRoot, "usr/sbin/nginx"), []string{"-c", conf, "-p", dir + "/", "-e", "stderr"}
	case "apache":
		writeApacheMain(t, dir, e.httpAddr(), e.httpsAddr())
		if out, err := apacheTest(dir); err != nil {
			t.Fatalf("apache2ctl -t refused the rendered configuration: %v\n%s\n%s", err, out, site)
		}
		bin, run = filepath.Join(bins.proxiesRoot, "usr/sbin/apache2"), []string{"-d", dir, "-f", filepath.Join(dir, "apache2.conf"), "-DFOREGROUND"}
	}
	var env []string
	if kind == "apache" {
		env = apacheEnv(dir)
	}
	p, err := startProcess(dir, kind, env, bin, run...)
	if err != nil {
		t.Fatal(err)
	}
	e.process = p
	t.Cleanup(p.stop)
	listening := []string{e.httpAddr()}
	if proxy.Spec.TLS.Termination != proxyv1.TLSNone {
		listening = append(listening, e.httpsAddr())
	}
	for _, a := range listening {
		if err := p.waitListening(a, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// serverDir is a folder for one server's files that its workers, which
// drop root, can read.
func serverDir(t *testing.T, kind string) string {
	t.Helper()
	dir, err := os.MkdirTemp(work, kind+"-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeNGINXMain is the main file around the rendered one, as a distribution's
// nginx.conf includes conf.d: here with every path in dir, and outgoing
// connections from the proxy's own address so the next hop can tell it apart.
func writeNGINXMain(t *testing.T, dir, addr string) string {
	t.Helper()
	conf := filepath.Join(dir, "nginx.conf")
	text := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    proxy_bind %[2]s;
    include %[1]s/posthog.conf;
}
`, dir, addr)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

func nginxTest(conf string) (string, error) {
	out, err := exec.Command(filepath.Join(bins.proxiesRoot, "usr/sbin/nginx"), "-t", "-c", conf, "-p", filepath.Dir(conf)+"/", "-e", "stderr").CombinedOutput()
	return string(out), err
}

// writeApacheMain is the main file around the rendered one, as Debian's
// apache2.conf with the modules it names enabled, plus the envvars file
// apache2ctl reads.
func writeApacheMain(t *testing.T, dir string, listen ...string) {
	t.Helper()
	modules := filepath.Join(bins.proxiesRoot, "usr/lib/apache2/modules")
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %s\nServerName localhost\nPidFile %[1]s/apache2.pid\nDefaultRuntimeDir %[1]s\nErrorLog /dev/stderr\nLogLevel warn\n", dir)
	for _, m := range []string{"mpm_event", "authz_core", "authz_host", "proxy", "proxy_http", "headers", "rewrite", "ssl"} {
		fmt.Fprintf(&b, "LoadModule %s_module %s/mod_%s.so\n", m, modules, m)
	}
	b.WriteString("User nobody\nGroup nogroup\n")
	for _, l := range listen {
		fmt.Fprintf(&b, "Listen %s\n", l)
	}
	fmt.Fprintf(&b, "Include %s/posthog.conf\n", dir)
	envvars := fmt.Sprintf("export APACHE_RUN_USER=nobody APACHE_RUN_GROUP=nogroup APACHE_PID_FILE=%[1]s/apache2.pid APACHE_RUN_DIR=%[1]s APACHE_LOCK_DIR=%[1]s APACHE_LOG_DIR=%[1]s\n", dir)
	for name, text := range map[string]string{"apache2.conf": b.String(), "envvars": envvars} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func apacheEnv(dir string) []string {
	return []string{"APACHE_CONFDIR=" + dir, "APACHE_HTTPD=" + filepath.Join(bins.proxiesRoot, "usr/sbin/apache2"),
		"LD_LIBRARY_PATH=" + filepath.Join(bins.proxiesRoot, "usr/lib/x86_64-linux-gnu")}
}

func apacheTest(dir string) (string, error) {
	cmd := exec.Command(filepath.Join(bins.proxiesRoot, "usr/sbin/apache2ctl"), "-t")
	cmd.Env = append(os.Environ(), apacheEnv(dir)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
