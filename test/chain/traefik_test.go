package chain

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// traefikInstance is Traefik run as a process against the local API
// server, as an ingress controller outside a cluster.
type traefikInstance struct {
	*process
	// web is its plain HTTP entry point; websecure its HTTPS one, for
	// Ingresses with TLS; webredirect redirects plain HTTP to websecure.
	web, websecure, webredirect string
}

// startTraefik runs Traefik for one IngressClass. It believes forwarded
// headers only from the outer proxies' addresses, as an ingress controller
// behind a load balancer is configured to.
func startTraefik(name, class, kubeconfig string) (*traefikInstance, error) {
	var addrs [4]string
	for i := range addrs {
		port, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	web, websecure, webredirect, internal := addrs[0], addrs[1], addrs[2], addrs[3]
	outerProxies := strings.Join([]string{nginxAddr, apacheSource}, ",")
	args := []string{
		// No calls home: the version check would reach the internet.
		"--global.checknewversion=false", "--global.sendanonymoususage=false",
		"--log.level=INFO", "--log.nocolor=true",
		"--entrypoints.web.address=" + web,
		"--entrypoints.web.forwardedheaders.trustedips=" + outerProxies,
		"--entrypoints.websecure.address=" + websecure,
		"--entrypoints.websecure.forwardedheaders.trustedips=" + outerProxies,
		"--entrypoints.webredirect.address=" + webredirect,
		"--entrypoints.webredirect.http.redirections.entrypoint.to=websecure",
		"--entrypoints.webredirect.http.redirections.entrypoint.scheme=https",
		// Traefik's own entry point binds all interfaces unless told.
		"--entrypoints.traefik.address=" + internal, "--ping=true",
		"--providers.kubernetesingress=true",
		"--providers.kubernetesingress.ingressclass=" + class,
		// Ingress Prefix matching by path element, as the API defines it.
		"--providers.kubernetesingress.strictprefixmatching=true",
		"--providers.providersthrottleduration=200ms",
	}
	p, err := startProcess(work, name, []string{"KUBECONFIG=" + kubeconfig}, bins.traefik, args...)
	if err != nil {
		return nil, err
	}
	for _, addr := range []string{web, websecure, webredirect} {
		if err := p.waitListening(addr, time.Minute); err != nil {
			p.stop()
			return nil, err
		}
	}
	return &traefikInstance{process: p, web: web, websecure: websecure, webredirect: webredirect}, nil
}

func (t *traefikInstance) pid() int { return t.cmd.Process.Pid }
