// Package crd holds the generated CustomResourceDefinition, for the offline
// renderer to validate and default with the very rules the API server uses.
package crd

import _ "embed"

// PostHogProxy is the CRD of PostHogProxy, as generated into bases/.
//
//go:embed bases/proxy.posthog-operator.io_posthogproxies.yaml
var PostHogProxy []byte
