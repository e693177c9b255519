// Package ext holds the extension points Traefik's dynamic configuration
// embeds; the stock binary extends none of them.
package ext

// HTTP is embedded in Traefik's HTTP configuration.
type HTTP struct{}

// Router is embedded in Traefik's HTTP router.
type Router struct{}

// RouterIng is embedded in the Ingress provider's router.
type RouterIng struct{}

// ToRouter converts the Ingress provider's extension into the router's.
func (RouterIng) ToRouter() Router { return Router{} }
