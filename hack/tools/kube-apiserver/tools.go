//go:build tools

// Package tools pins the control-plane binaries that tests and the demo run:
// kube-apiserver, and kubectl of the same release.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
