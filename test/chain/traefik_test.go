package chain

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// traefikInstance is Traefik run as a process against the local API
// server, as an ingress controller outside a cluster.
type traefikInstance struct {
	*process
	// web is its plain HTTP entry point.
	web string
}

// startTraefik runs Traefik for one IngressClass. It believes forwarded
// headers only from the outer proxies' addresses, as an ingress controller
// behind a load balancer is configured to.
func startTraefik(name, class, kubeconfig string) (*traefikInstance, error) {
	web, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	internal, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	webAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(web))
	args := []string{
		// No calls home: the version check would reach the internet.
		"--global.checknewversion=false", "--global.sendanonymoususage=false",
		"--log.level=INFO", "--log.nocolor=true",
		"--entrypoints.web.address=" + webAddr,
		"--entrypoints.web.forwardedheaders.trustedips=" + strings.Join([]string{nginxAddr, apacheSource}, ","),
		// Traefik's own entry point binds all interfaces unless told.
		fmt.Sprintf("--entrypoints.traefik.address=127.0.0.1:%d", internal), "--ping=true",
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
	if err := p.waitListening(webAddr, time.Minute); err != nil {
		p.stop()
		return nil, err
	}
	return &traefikInstance{process: p, web: webAddr}, nil
}

func (t *traefikInstance) pid() int { return t.cmd.Process.Pid }
