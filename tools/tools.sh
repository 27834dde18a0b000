#!/usr/bin/env bash
# Builds (or finds) the pinned Pulumi CLI and Kubernetes provider, and fetches the pinned Istio
# module for its charts; on request, the local cluster's pieces (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, kwok, istiod's pilot-discovery) for devcluster/cluster.ts.
# Everything goes to a cache outside the clone; nothing here is committed.
#
#   tools/tools.sh [targets]  build what is missing (all, or some of: cli provider istio promtool
#                               istioctl kube-score actionlint policy-analyzer kubernetes etcd kwok pilot-discovery xds-dump; `cluster` = the last five, not part of all),
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
# Kubernetes control plane built from k8s.io/kubernetes; its staging modules are served as v0.<minor>.<patch>.
KUBERNETES_VERSION=1.34.12
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
# Third-party validators run on every render (cli/validate.ts); istioctl comes from ISTIO_MODULE_VERSION.
KUBE_SCORE_VERSION=1.20.0
ACTIONLINT_VERSION=1.7.12

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

# download_module <workdir> <module@version> <Dir|GoMod>: downloads a module (naming it if that
# fails) and prints the path of its source folder or its go.mod in the module cache.
download_module() {
  local dir=$1 target=$2 field=$3
  (cd "$dir" && step "${target}: go mod download" go mod download "$target")
  (cd "$dir" && go mod download -json "$target") | sed -n "s/^[[:space:]]*\"${field}\": \"\(.*\)\",\$/\1/p"
}

build_pulumi_cli() {
  local existing
  existing=$(command -v pulumi 2>/dev/null || true)
  if [[ -n $existing && $existing != "$BIN/pulumi" && $("$existing" version 2>/dev/null) == "v${PULUMI_VERSION}" ]]; then
    ln -sf "$existing" "$BIN/pulumi"; log "using $existing (v${PULUMI_VERSION})"; return
  fi
  # Version checks capture the output first: `grep -q` closing a pipe early fails it under pipefail.
  if [[ -x $BIN/pulumi && $("$BIN/pulumi" version 2>/dev/null) == "v${PULUMI_VERSION}" ]]; then return; fi
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
  local source
  source=$(download_module "$dir" "istio.io/istio@${ISTIO_MODULE_VERSION}" Dir)
  [[ -d $source ]] || fail "istio.io/istio@${ISTIO_MODULE_VERSION}: module directory not found after download"
  rm -rf "$TOOLS/istio" && mkdir -p "$TOOLS/istio"
  cp -r "$source/manifests" "$source/samples" "$TOOLS/istio/" && chmod -R u+w "$TOOLS/istio"
}

build_promtool() {
  if [[ -x $BIN/promtool && $("$BIN/promtool" --version 2>&1) == *"version 3.10.0"* ]]; then return; fi
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

build_kubernetes() {
  local version=v${KUBERNETES_VERSION}
  local staging_version=v0.${KUBERNETES_VERSION#*.}
  local components=(kube-apiserver kube-controller-manager kube-scheduler)
  local component missing=
  for component in "${components[@]}"; do
    if ! [[ -x $BIN/$component && $("$BIN/$component" --version 2>/dev/null) == "Kubernetes ${version}" ]]; then missing=1; fi
  done
  [[ -z $missing ]] && return
  log "building kube-apiserver, kube-controller-manager and kube-scheduler ${version} from k8s.io/kubernetes (about 10 minutes cold)"
  local dir=$TOOLS/build/kubernetes
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module local/kubernetes\n\ngo 1.25\n' >"$dir/go.mod"
  local gomod
  gomod=$(download_module "$dir" "k8s.io/kubernetes@${version}" GoMod)
  [[ -f $gomod ]] || fail "k8s.io/kubernetes@${version}: go.mod not found after download"
  # k8s.io/kubernetes replaces its staging modules with ./staging/..., which a module zip does not
  # have; replace each with the published module of the same release. Take the list from its go.mod.
  local staging
  staging=$(awk '/^replace \(/{r=1; next} r && /^\)/{r=0} r && $2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod")
  [[ -n $staging ]] || fail "k8s.io/kubernetes@${version}: no staging replace block found in $gomod"
  local module replaces=""
  for module in $staging; do
    # A few sample modules are not published for every release; the commands built here do not use them.
    if (cd "$dir" && go mod download "${module}@${staging_version}" >/dev/null 2>&1); then
      replaces+=$(printf '\t%s => %s %s' "$module" "$module" "$staging_version")$'\n'
    else
      log "${module}@${staging_version} is not served; leaving it out of the replace block"
    fi
  done
  {
    printf '\nrequire k8s.io/kubernetes %s\n\n' "$version"
    printf '// k8s.io/kubernetes points these at ./staging/src/..., which its module zip lacks.\nreplace (\n%s)\n' "$replaces"
  } >>"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n' >"$dir/tools.go"
  for component in "${components[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$component" >>"$dir/tools.go"; done
  printf ')\n' >>"$dir/tools.go"
  (cd "$dir" && step "k8s.io/kubernetes@${version}: go mod tidy" go mod tidy)
  local minor=${KUBERNETES_VERSION#*.}; minor=${minor%%.*}
  local major=${KUBERNETES_VERSION%%.*}
  local stamp="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X ${pkg}.gitVersion=${version} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
  done
  mkdir -p "$dir/bin"
  (cd "$dir" && step "k8s.io/kubernetes@${version}: go build ${components[*]}" \
    go build -trimpath -ldflags "-s -w${stamp}" -o "$dir/bin/" "${components[@]/#/k8s.io/kubernetes/cmd/}")
  for component in "${components[@]}"; do mv -f "$dir/bin/$component" "$BIN/$component"; done
}

build_etcd() {
  # Built rather than taken from Debian: etcd-server there is 3.4.23, older than the 3.4.31/3.5.13
  # the API server wants for watch progress notifications; without them it turns off
  # RequestWatchProgress, and clients with client-go 1.35+ (kwok, istiod) fail their watch-list
  # requests and see changes only on relists, seconds late.
  # (Output captured first: `grep -q` closing the pipe early would fail it under pipefail.)
  if [[ -x $BIN/etcd && ! -L $BIN/etcd && $("$BIN/etcd" --version 2>/dev/null) == *"etcd Version: ${ETCD_VERSION}"* ]]; then return; fi
  log "building etcd v${ETCD_VERSION} from go.etcd.io/etcd/server/v3 (about 2 minutes cold)"
  local dir=$TOOLS/build/etcd
  local module=go.etcd.io/etcd/server/v3
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module local/etcd\n\ngo 1.25\n' >"$dir/go.mod"
  local gomod
  gomod=$(download_module "$dir" "${module}@v${ETCD_VERSION}" GoMod)
  [[ -f $gomod ]] || fail "${module}@v${ETCD_VERSION}: go.mod not found after download"
  # server/v3 points its sibling modules at ../api, ../client/... in the repository; use the
  # published modules of the same release instead. Take the list from its go.mod.
  local siblings replaces="" sibling
  siblings=$(awk '/^replace \(/{r=1; next} r && /^\)/{r=0} r && $2=="=>" && $3 ~ /^\.\.\// {print $1}' "$gomod")
  [[ -n $siblings ]] || fail "${module}@v${ETCD_VERSION}: no replace block found in $gomod"
  for sibling in $siblings; do replaces+=$(printf '\t%s => %s v%s' "$sibling" "$sibling" "$ETCD_VERSION")$'\n'; done
  printf '\nrequire %s v%s\n\nreplace (\n%s)\n' "$module" "$ETCD_VERSION" "$replaces" >>"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$module" >"$dir/tools.go"
  (cd "$dir" && step "${module}@v${ETCD_VERSION}: go mod tidy" go mod tidy)
  rm -f "$BIN/etcd"
  (cd "$dir" && step "${module}@v${ETCD_VERSION}: go build" go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" "$module")
}

build_kwok() {
  local stages=$TOOLS/kwok-${KWOK_VERSION}/stages.yaml
  if [[ -x $BIN/kwok && -s $stages && $("$BIN/kwok" --version 2>/dev/null) == "kwok version v${KWOK_VERSION} "* ]]; then return; fi
  log "building kwok v${KWOK_VERSION} from sigs.k8s.io/kwok (about 2 minutes cold)"
  step "sigs.k8s.io/kwok@v${KWOK_VERSION}: go install ./cmd/kwok" \
    env GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" \
      "sigs.k8s.io/kwok/cmd/kwok@v${KWOK_VERSION}"
  # kwok runs no stages unless given some: take the upstream node and pod stages of the same release
  # (what kwokctl uses by default) from the module, so fake nodes turn Ready and pods Running/Ready.
  local dir=$TOOLS/build/kwok-module source
  mkdir -p "$dir" && printf 'module local/kwok-stages\n\ngo 1.24\n' >"$dir/go.mod"
  source=$(download_module "$dir" "sigs.k8s.io/kwok@v${KWOK_VERSION}" Dir)
  [[ -d $source/kustomize/stage ]] || fail "sigs.k8s.io/kwok@v${KWOK_VERSION}: kustomize/stage not found in the module"
  mkdir -p "${stages%/*}"
  local file first=1
  for file in "$source"/kustomize/stage/node/fast/*.yaml "$source"/kustomize/stage/node/heartbeat-with-lease/*.yaml "$source"/kustomize/stage/pod/fast/*.yaml; do
    [[ ${file##*/} == kustomization.yaml ]] && continue
    (( first )) || echo '---'
    first=0
    cat "$file"
  done >"$stages.tmp"
  mv -f "$stages.tmp" "$stages"
}

build_istioctl() {
  # The module version doubles as the stamp: there is no release tag behind this pseudo-version.
  local stamp=$TOOLS/istioctl.version
  if [[ -x $BIN/istioctl && $(cat "$stamp" 2>/dev/null) == "${ISTIO_MODULE_VERSION}" ]]; then return; fi
  log "building istioctl from istio.io/istio@${ISTIO_MODULE_VERSION} (about 5 minutes cold on an idle machine, 18 measured beside other builds)"
  step "istio.io/istio@${ISTIO_MODULE_VERSION}: go install ./istioctl/cmd/istioctl" \
    env GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X istio.io/istio/pkg/version.buildVersion=${ISTIO_MODULE_VERSION} -X istio.io/istio/pkg/version.buildStatus=Clean" \
      "istio.io/istio/istioctl/cmd/istioctl@${ISTIO_MODULE_VERSION}"
  echo "${ISTIO_MODULE_VERSION}" >"$stamp"
}

build_pilot_discovery() {
  # istiod's binary, run by devcluster/cluster.ts as a local process so that Istio itself validates our
  # objects and injects our pods. Same module and stamp as istioctl.
  local stamp=$TOOLS/pilot-discovery.version
  if [[ -x $BIN/pilot-discovery && $(cat "$stamp" 2>/dev/null) == "${ISTIO_MODULE_VERSION}" ]]; then return; fi
  log "building pilot-discovery (istiod) from istio.io/istio@${ISTIO_MODULE_VERSION} (about 5 minutes cold)"
  step "istio.io/istio@${ISTIO_MODULE_VERSION}: go install ./pilot/cmd/pilot-discovery" \
    env GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X istio.io/istio/pkg/version.buildVersion=${ISTIO_MODULE_VERSION} -X istio.io/istio/pkg/version.buildStatus=Clean" \
      "istio.io/istio/pilot/cmd/pilot-discovery@${ISTIO_MODULE_VERSION}"
  echo "${ISTIO_MODULE_VERSION}" >"$stamp"
}

build_xds_dump() {
  # Our ADS client (tools/xds-dump/main.go, on Istio's pkg/adsc): asks the embedded cluster's istiod
  # for what it would push to a pod's sidecar. Same module as istioctl; the stamp also names the source.
  local source=$ROOT/tools/xds-dump/main.go
  local stamp=$TOOLS/xds-dump.version want
  want="${ISTIO_MODULE_VERSION} $(sha256sum "$source" | cut -c1-64)"
  if [[ -x $BIN/xds-dump && $(cat "$stamp" 2>/dev/null) == "$want" ]]; then return; fi
  log "building xds-dump (tools/xds-dump) on istio.io/istio@${ISTIO_MODULE_VERSION} (about 2 minutes cold)"
  local dir=$TOOLS/build/xds-dump
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module local/xds-dump\n\ngo 1.25\n\nrequire istio.io/istio %s\n' "${ISTIO_MODULE_VERSION}" >"$dir/go.mod"
  cp "$source" "$dir/main.go"
  (cd "$dir" && step "istio.io/istio@${ISTIO_MODULE_VERSION}: go mod tidy (xds-dump)" go mod tidy)
  (cd "$dir" && step "istio.io/istio@${ISTIO_MODULE_VERSION}: go build (xds-dump)" go build -trimpath -ldflags "-s -w" -o "$BIN/xds-dump" .)
  echo "$want" >"$stamp"
}

build_kube_score() {
  if [[ -x $BIN/kube-score && $("$BIN/kube-score" version 2>/dev/null) == *"version: ${KUBE_SCORE_VERSION}"* ]]; then return; fi
  log "building kube-score v${KUBE_SCORE_VERSION} from github.com/zegl/kube-score (about 30 seconds cold)"
  step "github.com/zegl/kube-score@v${KUBE_SCORE_VERSION}: go install ./cmd/kube-score" \
    env GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X main.version=${KUBE_SCORE_VERSION}" \
      "github.com/zegl/kube-score/cmd/kube-score@v${KUBE_SCORE_VERSION}"
}

install_policy_analyzer() {
  # The CLI runs a Node.js policy pack through its nodejs language plugin, which cannot be built
  # here (ENGINE.md); without one it starts `pulumi-analyzer-policy-nodejs` from PATH in the pack's
  # folder with the engine's address and `.` (pkg sdk/go/common/resource/plugin/analyzer_plugin.go).
  # This is upstream's own script (sdk/nodejs/dist/pulumi-analyzer-policy): the pack's own
  # node_modules hold @pulumi/pulumi and @pulumi/policy (`npm ci --prefix policy`).
  local shim=$BIN/pulumi-analyzer-policy-nodejs
  local body='#!/bin/sh
exec node ./node_modules/@pulumi/pulumi/cmd/run-policy-pack "$@"'
  if [[ -x $shim && $(cat "$shim") == "$body" ]]; then return; fi
  printf '%s\n' "$body" >"$shim.tmp" && chmod +x "$shim.tmp" && mv -f "$shim.tmp" "$shim"
}

build_actionlint() {
  if [[ -x $BIN/actionlint && $("$BIN/actionlint" -version 2>/dev/null) == *"${ACTIONLINT_VERSION}"* ]]; then return; fi
  log "building actionlint v${ACTIONLINT_VERSION} from github.com/rhysd/actionlint"
  step "github.com/rhysd/actionlint@v${ACTIONLINT_VERSION}: go install ./cmd/actionlint" \
    env GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION}" \
      "github.com/rhysd/actionlint/cmd/actionlint@v${ACTIONLINT_VERSION}"
}

targets=("$@")
(( ${#targets[@]} > 0 )) || targets=(all)
for target in "${targets[@]}"; do
  case "$target" in
    all) build_pulumi_cli; install_policy_analyzer; build_kubernetes_provider; fetch_istio_module; build_promtool; build_istioctl; build_kube_score; build_actionlint ;;
    cli) build_pulumi_cli ;;
    policy-analyzer) install_policy_analyzer ;;
    provider) build_kubernetes_provider ;;
    istio) fetch_istio_module ;;
    promtool) build_promtool ;;
    istioctl) build_istioctl ;;
    kube-score) build_kube_score ;;
    actionlint) build_actionlint ;;
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    kwok) build_kwok ;;
    pilot-discovery) build_pilot_discovery ;;
    xds-dump) build_xds_dump ;;
    cluster) build_kubernetes; build_etcd; build_kwok; build_pilot_discovery; build_xds_dump ;;
    *) fail "unknown target ${target}; use all, cli, policy-analyzer, provider, istio, promtool, istioctl, kube-score, actionlint, kubernetes, etcd, kwok, pilot-discovery, xds-dump or cluster" ;;
  esac
done

echo "PULUMI_BIN=$BIN/pulumi"
echo "PULUMI_KUBERNETES_PROVIDER=$BIN/pulumi-resource-kubernetes"
echo "PULUMI_POLICY_ANALYZER=$BIN/pulumi-analyzer-policy-nodejs"
echo "ISTIO_CHARTS=$TOOLS/istio/manifests/charts"
echo "PROMTOOL=$BIN/promtool"
echo "ISTIOCTL=$BIN/istioctl"
echo "KUBE_SCORE=$BIN/kube-score"
echo "ACTIONLINT=$BIN/actionlint"
echo "KUBE_APISERVER=$BIN/kube-apiserver"
echo "KUBE_CONTROLLER_MANAGER=$BIN/kube-controller-manager"
echo "KUBE_SCHEDULER=$BIN/kube-scheduler"
echo "ETCD=$BIN/etcd"
echo "KWOK=$BIN/kwok"
echo "PILOT_DISCOVERY=$BIN/pilot-discovery"
echo "XDS_DUMP=$BIN/xds-dump"
echo "KWOK_STAGES=$TOOLS/kwok-${KWOK_VERSION}/stages.yaml"
echo "TOOLS_BIN=$BIN"
