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
	"underscored": underscored,
	"unlessHopProto": func(hops []string) string {
		if len(hops) == 0 {
			return ""
		}
		return ` "expr=! (` + fromHop(hops) + ` && req('X-Forwarded-Proto') -in {'http', 'https'})"`
	},
}).Parse(apacheText))

// Apache is a file for Apache httpd's server config (such as
// /etc/apache2/sites-available/posthog.conf) that forwards the
// PostHogProxy's hosts to the ingress controller. It needs mod_proxy,
// mod_proxy_http, mod_headers, mod_rewrite and, with TLS, mod_ssl.
func Apache(proxy *proxyv1.PostHogProxy, opts Options) (string, error) {
	return execute(apacheTemplate, proxy, opts)
}

// unlessHop is the condition of a header rule that applies unless the peer
// is a trusted hop: none at the edge, where it always applies.
func unlessHop(hops []string) string {
	if len(hops) == 0 {
		return ""
	}
	return ` "expr=! ` + fromHop(hops) + `"`
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
func underscored() []string {
	var out []string
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-IP"} {
		parts := strings.Split(h, "-")
		// Every choice of '-' or '_' between the parts but all '-'.
		for mask := 1; mask < 1<<(len(parts)-1); mask++ {
			var b strings.Builder
			b.WriteString(parts[0])
			for i, p := range parts[1:] {
				if mask&(1<<i) != 0 {
					b.WriteByte('_')
				} else {
					b.WriteByte('-')
				}
				b.WriteString(p)
			}
			out = append(out, b.String())
		}
	}
	return out
}
