#!/usr/bin/env bash
# Builds (or finds) the pinned Pulumi CLI and Kubernetes provider, and fetches the pinned Istio
# module for its charts. Everything goes to a cache outside the clone; nothing here is committed.
#
#   scripts/tools.sh [targets]  build what is missing (all, or some of: cli provider istio promtool),
#                               then print the tool paths as shell variables
#   PLUGGABLE_MESH_TOOLS=/dir   cache directory (default: ${XDG_CACHE_HOME:-~/.cache}/pluggable-mesh/tools)
#
# A `pulumi` on PATH of the pinned version, or a kubernetes plugin of the pinned version already
# installed in ~/.pulumi/plugins, is used instead of building.
set -euo pipefail

# The one place the versions are pinned; package.json pins @pulumi/pulumi and @pulumi/kubernetes to match.
PULUMI_VERSION=3.248.0
KUBERNETES_PROVIDER_VERSION=4.25.0
# The Go module proxy serves provider/v4 only as this pseudo-version, which is the commit tagged v4.25.0.
KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
ISTIO_MODULE_VERSION=v0.0.0-20260827124520-eed52ebb66ad
# Prometheus 3.10.0 (its Go module numbers 3.x releases v0.3xx); Debian's promtool is built without Kubernetes discovery.
PROMETHEUS_MODULE_VERSION=v0.310.0

TOOLS=${PLUGGABLE_MESH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pluggable-mesh/tools}
BIN=$TOOLS/bin
mkdir -p "$BIN" "$TOOLS/build"

log() { echo "tools: $*" >&2; }
fail() { echo "tools: error: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "Go is not installed; the Pulumi CLI and the Kubernetes provider are built from the Go module proxy (install Go 1.24+), or install Pulumi ${PULUMI_VERSION} and its kubernetes plugin ${KUBERNETES_PROVIDER_VERSION} yourself"

# step <description> <command...>: runs a build step, naming the module and step when it fails.
step() {
  local what=$1; shift
  local logfile="$TOOLS/build/last-step.log"
  if ! "$@" >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    fail "$what failed (full log: $logfile)"
  fi
}

build_pulumi_cli() {
  local existing
  existing=$(command -v pulumi 2>/dev/null || true)
  if [[ -n $existing && $existing != "$BIN/pulumi" ]] && "$existing" version 2>/dev/null | grep -qx "v${PULUMI_VERSION}"; then
    ln -sf "$existing" "$BIN/pulumi"; log "using $existing (v${PULUMI_VERSION})"; return
  fi
  if [[ -x $BIN/pulumi ]] && "$BIN/pulumi" version 2>/dev/null | grep -qx "v${PULUMI_VERSION}"; then return; fi
  log "building the Pulumi CLI v${PULUMI_VERSION} from github.com/pulumi/pulumi/pkg/v3 (about 5 minutes cold)"
  local dir=$TOOLS/build/pulumi-cli
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module local/pulumi-cli

go 1.24

require (
	github.com/pulumi/pulumi/pkg/v3 v${PULUMI_VERSION}
	github.com/pulumi/pulumi/sdk/v3 v${PULUMI_VERSION}
)

// pkg/v3's own go.mod replaces this module; a replace only applies in the main module, so repeat it.
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$dir/tools.go"
  (cd "$dir" && step "github.com/pulumi/pulumi/pkg/v3@v${PULUMI_VERSION}: go mod tidy" go mod tidy)
  (cd "$dir" && step "github.com/pulumi/pulumi/pkg/v3@v${PULUMI_VERSION}: go build ./cmd/pulumi" \
    go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}" \
      -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_kubernetes_provider() {
  local plugin_dir=$HOME/.pulumi/plugins/resource-kubernetes-v${KUBERNETES_PROVIDER_VERSION}
  if [[ ! -x $BIN/pulumi-resource-kubernetes && -x $plugin_dir/pulumi-resource-kubernetes ]]; then
    ln -sf "$plugin_dir/pulumi-resource-kubernetes" "$BIN/pulumi-resource-kubernetes"; log "using the installed plugin in $plugin_dir"; return
  fi
  # The provider binary has no version flag: a stamp written after a successful build says what it is.
  if [[ -x $BIN/pulumi-resource-kubernetes && $(cat "$BIN/pulumi-resource-kubernetes.version" 2>/dev/null) == "${KUBERNETES_PROVIDER_VERSION}" ]]; then return; fi
  log "building the Kubernetes provider ${KUBERNETES_PROVIDER_VERSION} from github.com/pulumi/pulumi-kubernetes/provider/v4 (about 8 minutes cold)"
  local dir=$TOOLS/build/pulumi-kubernetes
  local module=github.com/pulumi/pulumi-kubernetes/provider/v4
  rm -rf "$dir" && mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module local/pulumi-kubernetes

go 1.24

require ${module} ${KUBERNETES_PROVIDER_MODULE_VERSION}

// provider/v4's go.mod points the SDK at ../sdk, which a module zip does not have.
replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 v${KUBERNETES_PROVIDER_VERSION}
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/pkg/provider"\n' "$module" >"$dir/tools.go"
  (cd "$dir" && step "${module}@${KUBERNETES_PROVIDER_MODULE_VERSION}: go mod download" go mod download "${module}")
  (cd "$dir" && step "${module}@${KUBERNETES_PROVIDER_MODULE_VERSION}: go mod tidy" go mod tidy)
  # The main package embeds schema files that upstream generates at build time and the module zip
  # lacks; copy the package here and run its own generator, as its Makefile would.
  local source
  source=$(cd "$dir" && go list -m -f '{{.Dir}}' "${module}")
  mkdir -p "$dir/cmd/pulumi-resource-kubernetes"
  cp -r "$source/cmd/pulumi-resource-kubernetes/." "$dir/cmd/pulumi-resource-kubernetes/"
  chmod -R u+w "$dir/cmd"
  (cd "$dir/cmd/pulumi-resource-kubernetes" && VERSION=${KUBERNETES_PROVIDER_VERSION} step "${module}: generate schema-embed.json" go run generate.go)
  (cd "$dir" && step "${module}: go build ./cmd/pulumi-resource-kubernetes" \
    go build -trimpath -ldflags "-s -w -X ${module}/pkg/version.Version=${KUBERNETES_PROVIDER_VERSION}" \
      -o "$BIN/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  echo "${KUBERNETES_PROVIDER_VERSION}" >"$BIN/pulumi-resource-kubernetes.version"
}

fetch_istio_module() {
  if [[ -f $TOOLS/istio/manifests/charts/base/Chart.yaml ]]; then return; fi
  log "fetching istio.io/istio@${ISTIO_MODULE_VERSION} for its Helm charts"
  local dir=$TOOLS/build/istio-module
  mkdir -p "$dir"
  printf 'module local/istio-charts\n\ngo 1.24\n' >"$dir/go.mod"
  (cd "$dir" && step "istio.io/istio@${ISTIO_MODULE_VERSION}: go mod download" go mod download "istio.io/istio@${ISTIO_MODULE_VERSION}")
  local source
  source=$(cd "$dir" && go mod download -json "istio.io/istio@${ISTIO_MODULE_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $source ]] || fail "istio.io/istio@${ISTIO_MODULE_VERSION}: module directory not found after download"
  rm -rf "$TOOLS/istio" && mkdir -p "$TOOLS/istio"
  cp -r "$source/manifests" "$source/samples" "$TOOLS/istio/" && chmod -R u+w "$TOOLS/istio"
}

build_promtool() {
  if [[ -x $BIN/promtool ]] && "$BIN/promtool" --version 2>&1 | grep -q "version 3.10.0"; then return; fi
  log "building promtool from github.com/prometheus/prometheus@${PROMETHEUS_MODULE_VERSION} (about 2 minutes cold)"
  local dir=$TOOLS/build/promtool
  local module=github.com/prometheus/prometheus
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module local/promtool

go 1.25

require ${module} ${PROMETHEUS_MODULE_VERSION}

// Repeated from prometheus's own go.mod: a replace only applies in the main module.
replace cloud.google.com/go => cloud.google.com/go v0.123.0
GOMOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/promtool"\n' "$module" >"$dir/tools.go"
  (cd "$dir" && step "${module}@${PROMETHEUS_MODULE_VERSION}: go mod tidy" go mod tidy)
  (cd "$dir" && step "${module}@${PROMETHEUS_MODULE_VERSION}: go build ./cmd/promtool" \
    go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=3.10.0" -o "$BIN/promtool" "${module}/cmd/promtool")
}

targets=("$@")
(( ${#targets[@]} > 0 )) || targets=(all)
for target in "${targets[@]}"; do
  case "$target" in
    all) build_pulumi_cli; build_kubernetes_provider; fetch_istio_module; build_promtool ;;
    cli) build_pulumi_cli ;;
    provider) build_kubernetes_provider ;;
    istio) fetch_istio_module ;;
    promtool) build_promtool ;;
    *) fail "unknown target ${target}; use all, cli, provider, istio or promtool" ;;
  esac
done

echo "PULUMI_BIN=$BIN/pulumi"
echo "PULUMI_KUBERNETES_PROVIDER=$BIN/pulumi-resource-kubernetes"
echo "ISTIO_CHARTS=$TOOLS/istio/manifests/charts"
echo "PROMTOOL=$BIN/promtool"
echo "TOOLS_BIN=$BIN"
