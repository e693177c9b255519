#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the pinned tools modules under
# hack/tools into a per-user cache folder keyed by version, and prints that folder.
# The first build compiles Kubernetes (4 to 15 minutes on two cores); later
# runs find the binaries by version and return in well under a second.
set -euo pipefail

# The versions must be the ones hack/tools/*/go.mod pin; the Makefile reads
# them from there.
K8S_VERSION=${K8S_VERSION:?set K8S_VERSION, e.g. via make control-plane}
ETCD_VERSION=${ETCD_VERSION:?set ETCD_VERSION, e.g. via make control-plane}
OUT=${1:?usage: $0 OUTPUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)

current() {
	[[ -x $OUT/kube-apiserver && -x $OUT/kubectl && -x $OUT/etcd ]] &&
		[[ $("$OUT/kube-apiserver" --version 2>/dev/null) == "Kubernetes v$K8S_VERSION" ]] &&
		"$OUT/etcd" --version 2>/dev/null | grep -q "^etcd Version: $ETCD_VERSION\$"
}

if current; then
	echo "$OUT"
	exit 0
fi

mkdir -p "$OUT"
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done

# No -trimpath: the project's own test binaries then reuse the same build cache
# entries for the k8s.io packages, which saves minutes on a cold machine.
start=$(date +%s)
echo ">> building kube-apiserver and kubectl v$K8S_VERSION from source into $OUT" >&2
echo ">> first build on a new machine: 4 minutes on 2 fast cores, up to 15 on a slow or busy one; cached afterwards" >&2
(cd "$root/hack/tools/kube-apiserver" &&
	go build -ldflags="$ldflags" -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver &&
	go build -ldflags="$ldflags" -o "$OUT/kubectl" k8s.io/kubernetes/cmd/kubectl)
echo ">> building etcd v$ETCD_VERSION (about 1 minute)" >&2
(cd "$root/hack/tools/etcd" && go build -ldflags="-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3)
echo ">> control plane binaries ready in $(($(date +%s) - start))s" >&2

current || { echo "built binaries do not report v$K8S_VERSION / etcd $ETCD_VERSION" >&2; exit 1; }
echo "$OUT"
