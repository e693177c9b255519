//go:build tools

// Package tools pins Traefik for the HTTP chain tests.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
