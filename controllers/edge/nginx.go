package edge

import (
	_ "embed"
	"strings"
	"text/template"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

//go:embed nginx.conf.tmpl
var nginxText string

var nginxTemplate = template.Must(template.New("nginx").Funcs(template.FuncMap{"join": strings.Join, "hasPrefix": strings.HasPrefix}).Parse(nginxText))

// NGINX is a file for NGINX's http context (such as
// /etc/nginx/conf.d/posthog.conf) that forwards the PostHogProxy's hosts to
// the ingress controller.
func NGINX(proxy *proxyv1.PostHogProxy, opts Options) (string, error) {
	return execute(nginxTemplate, proxy, opts)
}
