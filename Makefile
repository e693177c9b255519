# posthog-proxy-operator
#
# Every tool is pinned and built from the Go module proxy into ./bin; the
# local control plane (kube-apiserver, etcd, kubectl) is built from source
# into a per-user cache outside the repository, keyed by version.

# The control-plane versions are those pinned by the tools modules in hack/tools.
K8S_VERSION := $(shell grep -o 'k8s.io/kubernetes v[0-9.]*' hack/tools/kube-apiserver/go.mod | head -1 | cut -dv -f2)
ETCD_VERSION := $(shell grep -o 'go.etcd.io/etcd/server/v3 v[0-9.]*' hack/tools/etcd/go.mod | head -1 | cut -d' ' -f2 | cut -c2-)
CONTROLLER_TOOLS_VERSION ?= v0.23.0

LOCALBIN ?= $(CURDIR)/bin
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/posthog-proxy-operator
CONTROL_PLANE_CACHE ?= $(TOOLS_CACHE)/control-plane
KUBEBUILDER_ASSETS ?= $(CONTROL_PLANE_CACHE)/k8s-$(K8S_VERSION)-etcd-$(ETCD_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH)
export KUBEBUILDER_ASSETS

TRAEFIK_VERSION := $(shell grep -o 'github.com/traefik/traefik/v3 v[0-9.]*' hack/tools/traefik/go.mod | head -1 | cut -d' ' -f2)
TRAEFIK ?= $(TOOLS_CACHE)/traefik-$(TRAEFIK_VERSION)/traefik
DEBIAN_RELEASE := $(shell . /etc/os-release 2>/dev/null && echo $${VERSION_CODENAME:-unknown})
HTTP_PROXIES ?= $(TOOLS_CACHE)/debian-proxies-$(DEBIAN_RELEASE)

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
HELM_VERSION := $(shell grep -o 'helm.sh/helm/v4 v[0-9.]*' hack/tools/helm/go.mod | head -1 | cut -d' ' -f2)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)

GO_TEST_FLAGS ?= -count=1

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods, the CRD and the RBAC role from the API markers.
	$(CONTROLLER_GEN) object paths="./api/..."
	$(CONTROLLER_GEN) crd rbac:roleName=posthog-proxy-operator paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@# The chart installs the same CRD and role: a template around the CRD, the role's rules as a file.
	@{ echo '{{- if .Values.crds.install }}'; sed 's|^    controller-gen.kubebuilder.io/version: .*|    helm.sh/resource-policy: keep|' config/crd/bases/proxy.posthog-operator.io_posthogproxies.yaml; echo '{{- end }}'; } > charts/posthog-proxy-operator/templates/crd.yaml
	@cp config/rbac/role.yaml charts/posthog-proxy-operator/files/role.yaml

.PHONY: fmt
fmt: ## Run gofmt and go vet.
	gofmt -l -w $$(git ls-files '*.go')
	go vet ./...

GENERATED := config/crd/bases config/rbac/role.yaml api/v1alpha1/zz_generated.deepcopy.go charts/posthog-proxy-operator/templates/crd.yaml charts/posthog-proxy-operator/files/role.yaml

.PHONY: verify-generated
verify-generated: controller-gen ## Fail when the generated CRD, RBAC or DeepCopy differ from the markers.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for f in $(GENERATED); do mkdir -p "$$tmp/$$(dirname $$f)" && cp -r "$$f" "$$tmp/$$f"; done && \
	$(MAKE) --no-print-directory generate >/dev/null && \
	for f in $(GENERATED); do diff -ru "$$tmp/$$f" "$$f" || { echo "$$f was stale and has been regenerated: review and commit it"; exit 1; }; done

.PHONY: test
test: control-plane helm traefik http-proxies verify-generated build ## Run checks, unit, integration (faults, helm, kubectl, kustomize), HTTP chain, demo and image tests, and a 5 s fuzz per target.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed: run make fmt"; exit 1; }
	go vet ./...
	MANAGER_BIN=$(LOCALBIN)/manager KUBECTL_BIN=$(KUBEBUILDER_ASSETS)/kubectl HELM_BIN=$(HELM) \
		TRAEFIK_BIN=$(TRAEFIK) HTTP_PROXIES_ROOT=$(HTTP_PROXIES)/root CHAIN_TESTS=required go test $(GO_TEST_FLAGS) ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT) FUZZMINIMIZETIME=1s

# Every Fuzz function in the module's test files, as package:Function.
FUZZ_TARGETS = $(shell grep -r --include='*_test.go' --exclude-dir=bin --exclude-dir=hack -o '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's|^(.*)/[^/]*:func (.*)$$|\1:\2|')
FUZZTIME ?= 2m
FUZZTIME_SHORT ?= 5s
# Shrinking a new input can take a minute; a short run spends its time fuzzing.
FUZZMINIMIZETIME ?= 60s

.PHONY: fuzz
fuzz: ## Fuzz address parsing and the builders, FUZZTIME per target (2m); a failing input is saved under testdata/fuzz.
	@for t in $(FUZZ_TARGETS); do \
		echo ">> fuzzing $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		hack/fuzz.sh "$${t%%:*}" "$${t#*:}" $(FUZZTIME) $(FUZZMINIMIZETIME) || exit 1; \
	done

##@ Benchmarks

.PHONY: bench
bench: build control-plane ## Measure the operator against the physical limit on the local control plane into BENCHMARKS.md; BENCH_FLAGS for hack/bench's flags.
	go run ./hack/bench -manager $(LOCALBIN)/manager -out BENCHMARKS.md $(BENCH_FLAGS)

##@ Build

.PHONY: build
build: generate ## Build the manager binary into ./bin.
	go build -o $(LOCALBIN)/manager .

IMG ?= posthog-proxy-operator:latest

.PHONY: docker-build
docker-build: ## Build the manager image (needs a Docker engine; the image's binary is what make test proves static).
	docker build -t $(IMG) .

.PHONY: demo
demo: build control-plane ## Run the main job end to end on a local control plane, then clean up.
	go run ./hack/demo --manager $(LOCALBIN)/manager --kubectl $(KUBEBUILDER_ASSETS)/kubectl --manager-log $(LOCALBIN)/demo-manager.log

##@ Tools

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kubectl from source (first time 4-15 min; cached after).
	@K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/control-plane-binaries.sh "$(KUBEBUILDER_ASSETS)" >/dev/null

.PHONY: helm
helm: $(HELM) ## Build helm from the pinned module in hack/tools/helm into ./bin (a few minutes the first time).
$(HELM):
	@echo ">> building helm $(HELM_VERSION) from source (a few minutes the first time)" >&2
	cd hack/tools/helm && go build -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)" -o $@ helm.sh/helm/v4/cmd/helm

.PHONY: traefik
traefik: $(TRAEFIK) ## Build the Traefik ingress controller for the HTTP chain tests into the tools cache (about 6 min the first time).
$(TRAEFIK):
	@echo ">> building traefik $(TRAEFIK_VERSION) from source into $(@D) (first time: about 6 minutes on 2 idle cores, up to 15 on a busy machine, and 3 GiB of memory)" >&2
	cd hack/tools/traefik && go build -trimpath -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$(TRAEFIK_VERSION)" -o $@.tmp github.com/traefik/traefik/v3/cmd/traefik
	mv $@.tmp $@

.PHONY: http-proxies
http-proxies: ## Unpack NGINX and Apache httpd from Debian packages into the tools cache for the HTTP chain tests (no install, no service).
	@hack/debian-proxies.sh "$(HTTP_PROXIES)" >/dev/null

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into ./bin.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN)/.tmp go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/.tmp/controller-gen $@ && rmdir $(LOCALBIN)/.tmp
