// Traefik v3.7 requires this nested module through a local replace, and the
// published module zip leaves it out. Upstream it holds only empty extension
// points, so the same empty types are enough to build the binary.
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
