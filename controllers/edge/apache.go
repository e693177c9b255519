package edge

import (
	_ "embed"
	"strings"
	"text/template"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
)

//go:embed apache.conf.tmpl
var apacheText string

var apacheTemplate = template.Must(template.New("apache").Funcs(template.FuncMap{
	"join":        strings.Join,
	"hasPrefix":   strings.HasPrefix,
	"fromHop":     fromHop,
	"unlessHop":   unlessHop,
	"underscored": func() []string { return underscored },
}).Parse(apacheText))

// Apache is a file for Apache httpd's server config (such as
// /etc/apache2/sites-available/posthog.conf) that forwards the
// PostHogProxy's hosts to the ingress controller. It needs mod_proxy,
// mod_proxy_http, mod_headers, mod_rewrite and, with TLS, mod_ssl.
func Apache(proxy *proxyv1.PostHogProxy, opts Options) (string, error) {
	return execute(apacheTemplate, proxy, opts)
}

// unlessHop is the condition of a header rule that applies unless the peer
// is a trusted hop (and, with also, that condition holds too): none at the
// edge, where the rule always applies.
func unlessHop(hops []string, also ...string) string {
	if len(hops) == 0 {
		return ""
	}
	cond := fromHop(hops)
	if len(also) > 0 {
		cond = "(" + strings.Join(append([]string{cond}, also...), " && ") + ")"
	}
	return ` "expr=! ` + cond + `"`
}

// fromHop is an ap_expr that is true when the peer is a trusted hop.
func fromHop(hops []string) string {
	terms := make([]string, len(hops))
	for i, h := range hops {
		terms[i] = "-R '" + h + "'"
	}
	return "(" + strings.Join(terms, " || ") + ")"
}

// underscored are the spellings with '_' of the forwarded headers: NGINX
// drops such headers by default, Apache passes them on, and a server that
// maps '-' and '_' alike would read them as the real ones.
var underscored = []string{
	"X_Forwarded-For", "X-Forwarded_For", "X_Forwarded_For",
	"X_Forwarded-Proto", "X-Forwarded_Proto", "X_Forwarded_Proto",
	"X_Forwarded-Host", "X-Forwarded_Host", "X_Forwarded_Host",
	"X_Real-IP", "X-Real_IP", "X_Real_IP",
}
