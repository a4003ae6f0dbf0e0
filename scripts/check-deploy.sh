#!/usr/bin/env bash
# Offline checks of the deployment stack (issue 6), with the real tools:
#   kustomize render -> Kubernetes 1.30 schema validation -> manifest invariants, checkov,
#   hadolint, yamllint, terraform fmt + validate, promtool, amtool, Grafana dashboard, the
#   issue-18 checks (rollout, image pin, Terraform structure, docs, release workflow with
#   actionlint), detect-secrets
#   (plus a planted-credential canary) and, when a release binary exists, the runtime image's
#   dynamic dependencies in an empty root.
# Prints one PASS/FAIL/SKIP line per check and exits non-zero if any check fails.
#
#   scripts/install-deploy-tools.sh      # once: tool venvs + promtool
#   scripts/check-deploy.sh              # all checks
#   scripts/check-deploy.sh --update-secrets-baseline   # refresh .secrets.baseline, then audit it
#
# Custom resources (ExternalSecret, SecretStore, ScaledObject, TriggerAuthentication) have no
# schema in kubernetes-validate: they are split out of each rendered overlay and checked
# structurally by deploy/tools/check_manifests.py instead (the split is printed).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

VENV="$ROOT/.venv-deploy/bin"
CHECKOV="$ROOT/.venv-checkov/bin/checkov"
PY="$VENV/python"
PROMTOOL="${PROMTOOL:-/usr/bin/promtool}"
AMTOOL="${AMTOOL:-/usr/bin/amtool}"
K8S_VERSION="1.30.0"
TF_PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
# Every kustomization that is applied somewhere; each is rendered and checked.
K8S_TARGETS=(base secrets overlays/staging overlays/production overlays/production-opa overlays/production-keda overlays/production-ollama)
# Terraform roots that need only the AWS provider (terraform validate offline).
TF_VALIDATE_ROOTS=(aws bootstrap)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
: >"$TF_CLI_CONFIG_FILE"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

# Files in scope for the secret scan: tracked plus untracked-but-not-ignored files (works
# before the first commit too), never build output, virtualenvs or local data.
scan_files() {
  git -C "$ROOT" ls-files -co --exclude-standard 2>/dev/null |
    grep -vE '^(target/|\.venv|data/)' |
    while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
}

if [ "${1:-}" = "--update-secrets-baseline" ]; then
  mapfile -t files < <(scan_files)
  if [ -f .secrets.baseline ]; then
    "$VENV/detect-secrets" scan --baseline .secrets.baseline "${files[@]}"
  else
    "$VENV/detect-secrets" scan --exclude-files '^Cargo\.lock$' --exclude-files '\.secrets\.baseline$' \
      "${files[@]}" >.secrets.baseline
  fi
  echo "updated .secrets.baseline; review new entries with: $VENV/detect-secrets audit .secrets.baseline"
  exit 0
fi

passed=0
failed=0
skipped=0
failed_names=()

# check NAME COMMAND...: run, keep the output, print PASS/FAIL (+ the output's tail on FAIL).
check() {
  local name="$1"
  shift
  local log="$WORK/log.$name"
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    printf 'PASS  %-28s (%ss)\n' "$name" "$((SECONDS - start))"
    passed=$((passed + 1))
  else
    printf 'FAIL  %-28s (%ss)\n' "$name" "$((SECONDS - start))"
    tail -n 80 "$log" | sed 's/^/      | /'
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
}

skip() {
  printf 'SKIP  %-28s %s\n' "$1" "$2"
  skipped=$((skipped + 1))
}

# ------------------------------------------------------------------ tools
tools_present() {
  local missing=0 t
  for t in "$VENV/kubernetes-validate" "$VENV/yamllint" "$VENV/hadolint" "$VENV/detect-secrets-hook" \
    "$VENV/actionlint" "$CHECKOV" "$PROMTOOL" "$AMTOOL"; do
    [ -x "$t" ] || { echo "missing $t (run scripts/install-deploy-tools.sh)"; missing=1; }
  done
  for t in kubectl terraform git; do
    command -v "$t" >/dev/null || { echo "missing $t on PATH"; missing=1; }
  done
  [ -d "$TF_PLUGIN_DIR/registry.terraform.io/hashicorp/aws" ] || { echo "no hashicorp/aws in $TF_PLUGIN_DIR"; missing=1; }
  return "$missing"
}
check tools tools_present
if [ "$failed" -gt 0 ]; then
  echo "check-deploy: $passed passed, $failed failed"
  exit 1
fi

# ------------------------------------------------------------------ Kubernetes
RENDER="$WORK/rendered"
mkdir -p "$RENDER/core" "$RENDER/crd"

kustomize_build() {
  local t out
  for t in "${K8S_TARGETS[@]}"; do
    out="$RENDER/$(echo "$t" | tr / _).yaml"
    kubectl kustomize "deploy/k8s/$t" >"$out" || { echo "kubectl kustomize deploy/k8s/$t failed"; return 1; }
    echo "deploy/k8s/$t: $(grep -c '^kind:' "$out") objects"
  done
}
check kustomize-build kustomize_build

k8s_schema() {
  local f base rc=0
  for f in "$RENDER"/*.yaml; do
    base="$(basename "$f")"
    "$PY" deploy/tools/check_manifests.py split "$f" "$RENDER/core/$base" "$RENDER/crd/$base" || return 1
    if ! "$VENV/kubernetes-validate" -k "$K8S_VERSION" --strict --quiet "$RENDER/core/$base" >"$WORK/kv.out" 2>&1; then
      cat "$WORK/kv.out"
      rc=1
    fi
    # A built-in kind without a schema would only warn: treat it as a failure.
    if grep -q "Couldn't find schema" "$WORK/kv.out"; then
      cat "$WORK/kv.out"
      rc=1
    fi
  done
  return "$rc"
}
check k8s-schema-1.30 k8s_schema
check k8s-custom-resources "$PY" deploy/tools/check_manifests.py crds "$RENDER"/crd/*.yaml
check k8s-invariants "$PY" deploy/tools/check_manifests.py invariants "$RENDER"
# Issue 18: every workload's image from the overlay's ECR registry by digest, egress/ingress
# CIDRs inside the environment's VPC (tfvars), grace >= preStop + SHUTDOWN_TIMEOUT + margin,
# Jobs without ENCRYPTION_KEY, workers without the pipeline's IRSA role, DB TLS verify-full.
check k8s-rollout "$PY" deploy/tools/check_manifests.py rollout "$RENDER"
# The documented release step (kustomize edit set image pipeline=REPO@DIGEST) in a scratch
# copy of each overlay: the digest must reach every pipeline container of the render.
check k8s-image-pin "$PY" deploy/tools/check_manifests.py image-pin staging production production-opa production-keda production-ollama

# ------------------------------------------------------------------ checkov
# Kubernetes: the rendered overlays (what is applied), not the raw component patches, which
# are fragments. Skips are inline annotations (checkov.io/skipN) on the objects.
check checkov-k8s "$CHECKOV" -d "$RENDER" --framework kubernetes --skip-download --quiet --compact
# Terraform (deploy/terraform), the Dockerfile, and checkov's own secret scan of deploy/.
# Skips are inline `#checkov:skip=CKV_...:reason` comments.
check checkov-terraform-docker "$CHECKOV" -d deploy --skip-path deploy/k8s --skip-path .terraform \
  --skip-download --quiet --compact

# ------------------------------------------------------------------ linters
check hadolint "$VENV/hadolint" deploy/docker/Dockerfile
check yamllint "$VENV/yamllint" -s -c deploy/.yamllint deploy .pre-commit-config.yaml .github

# ------------------------------------------------------------------ Terraform
check terraform-fmt terraform fmt -check -recursive -diff deploy/terraform

terraform_validate() {
  local root="$1" tmp="$WORK/tf-$1"
  mkdir -p "$tmp"
  # A scratch copy: no .terraform directory or lock file is left in the tree.
  cp -r "deploy/terraform/$root/." "$tmp/"
  rm -rf "$tmp/.terraform" "$tmp/.terraform.lock.hcl"
  (cd "$tmp" &&
    terraform init -backend=false -plugin-dir="$TF_PLUGIN_DIR" -input=false -no-color >/dev/null &&
    terraform validate -no-color)
}
for root in "${TF_VALIDATE_ROOTS[@]}"; do
  check "terraform-validate-$root" terraform_validate "$root"
done
# Issue 18: Grafana's and Alertmanager's Secrets exist before kube-prometheus-stack, KEDA and
# prometheus-adapter do not both serve external metrics, RDS pins no minor, a node autoscaler
# with IRSA and enough max nodes for the HPA maximum, version floors, the Compliance tag.
check terraform-structure "$PY" deploy/tools/check_manifests.py terraform

# ------------------------------------------------------------------ Prometheus / Grafana
check promtool-check-rules "$PROMTOOL" check rules deploy/prometheus/alerts.yml
check promtool-test-rules "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
# Debian's promtool is built without Kubernetes discovery, so the cluster scrape config is
# checked structurally; the local-stack config is checked by promtool itself.
check promtool-check-config "$PROMTOOL" check config deploy/prometheus/prometheus-compose.yml
# Alertmanager routing: valid, and a critical pipeline alert pages and reaches Slack.
alertmanager_routes() {
  "$AMTOOL" check-config deploy/prometheus/alertmanager.yml || return 1
  local got
  got="$("$AMTOOL" config routes test --config.file=deploy/prometheus/alertmanager.yml \
    service=agentic-pfm severity=critical alertname=PipelineDown 2>/dev/null)"
  echo "critical PipelineDown -> $got"
  [ "$got" = "agentic-pfm-pager,platform-slack" ] || { echo "expected agentic-pfm-pager,platform-slack"; return 1; }
  got="$("$AMTOOL" config routes test --config.file=deploy/prometheus/alertmanager.yml \
    service=agentic-pfm severity=warning alertname=PipelineWorkersDown 2>/dev/null)"
  echo "warning PipelineWorkersDown -> $got"
  [ "$got" = "platform-slack" ] || { echo "expected platform-slack"; return 1; }
}
check alertmanager-routing alertmanager_routes
check prometheus-scrape-job "$PY" deploy/tools/check_manifests.py prometheus-config deploy/prometheus/prometheus.yml
check alert-runbook "$PY" deploy/tools/check_manifests.py runbook deploy/prometheus/alerts.yml docs/runbook.md
check grafana-dashboard "$PY" deploy/tools/check_manifests.py dashboard deploy/grafana/dashboards/agentic-pfm-pipeline.json

# ------------------------------------------------------------------ docs, release, README
check docs-agree-with-code "$PY" deploy/tools/check_manifests.py docs
release_workflow() {
  "$VENV/actionlint" -no-color .github/workflows/release.yml || return 1
  "$PY" deploy/tools/check_manifests.py release-workflow .github/workflows/release.yml
}
check release-workflow release_workflow
# The README's first command is marked for CI (which runs it in a clean clone: .ci/run).
check readme-first-command bash scripts/check-readme-first-command.sh --print

# ------------------------------------------------------------------ secrets
detect_secrets_repo() {
  local files
  mapfile -t files < <(scan_files)
  echo "scanning ${#files[@]} files against .secrets.baseline"
  [ -f .secrets.baseline ] || { echo ".secrets.baseline is missing"; return 1; }
  # Run on a copy of the baseline: the hook rewrites a baseline whose line numbers moved, and
  # CI must not edit the tree. Exit codes: 0 clean, 1 new finding(s), 3 only line numbers of
  # known (baselined) findings moved - not a new secret, so it passes with a note.
  cp .secrets.baseline "$WORK/baseline.json"
  local rc=0
  "$VENV/detect-secrets-hook" --baseline "$WORK/baseline.json" "${files[@]}" || rc=$?
  case "$rc" in
    0) return 0 ;;
    3)
      echo "note: known findings moved; refresh with scripts/check-deploy.sh --update-secrets-baseline"
      return 0
      ;;
    *)
      echo "detect-secrets: new findings (rc=$rc). Remove real secrets (and rotate them); for false"
      echo "positives add '# pragma: allowlist secret' on the line, or run"
      echo "scripts/check-deploy.sh --update-secrets-baseline and audit the new entries."
      return 1
      ;;
  esac
}
check detect-secrets detect_secrets_repo

# Canary: a scratch copy of a tracked file with a planted (random, fake) AWS key pair must
# be caught. The key is generated here so that no file in the repository contains one.
detect_secrets_canary() {
  local dir="$WORK/canary" src=deploy/k8s/base/configmap.yaml key secret
  mkdir -p "$dir"
  cp "$src" "$dir/configmap.yaml"
  key="AKIA$(LC_ALL=C tr -dc 'A-Z2-7' </dev/urandom | head -c 16)"
  secret="$(LC_ALL=C tr -dc 'A-Za-z0-9/+' </dev/urandom | head -c 40)"
  printf '  AWS_ACCESS_KEY_ID: %s\n  AWS_SECRET_ACCESS_KEY: %s\n' "$key" "$secret" >>"$dir/configmap.yaml"
  cp .secrets.baseline "$WORK/canary-baseline.json"
  local out rc=0
  out="$("$VENV/detect-secrets-hook" --baseline "$WORK/canary-baseline.json" "$dir/configmap.yaml" 2>&1)" || rc=$?
  echo "$out"
  if [ "$rc" -ne 1 ]; then
    echo "the planted AWS key was NOT reported as a new finding (rc=$rc)"
    return 1
  fi
  grep -q "AWS Access Key" <<<"$out" || { echo "finding is not reported as an AWS Access Key"; return 1; }
  # Control: the unmodified copy is clean.
  cp "$src" "$dir/configmap.yaml"
  "$VENV/detect-secrets-hook" --baseline "$WORK/canary-baseline.json" "$dir/configmap.yaml" ||
    { echo "the unmodified copy is reported too"; return 1; }
  echo "planted key detected (rc=$rc); clean copy passes"
}
check detect-secrets-canary detect_secrets_canary

# ------------------------------------------------------------------ runtime image contents
# The runtime image is distroless/cc-debian12: Debian 12's libc6, libgcc-s1, libgomp1,
# libstdc++6 and libssl3, plus what the Dockerfile copies. This machine is Debian 12 too, so
# those packages' files stand in for the base image. The release binary must need nothing
# else: it is run in an empty root holding only those files.
# CI has the debug build from the test run; it links the same libraries as the release one.
if [ -z "${PIPELINE_BINARY:-}" ] && [ ! -x target/release/pipeline ] && [ -x target/debug/pipeline ]; then
  PIPELINE_BINARY=target/debug/pipeline
fi
BINARY="${PIPELINE_BINARY:-target/release/pipeline}"
runtime_deps() {
  local root="$WORK/rootfs" lib needed missing=0 pkg f dir
  mkdir -p "$root/usr/local/bin" "$root/app" "$root/tmp" "$root/usr/lib" "$root/usr/lib64"
  # Debian 12 is merged-/usr (/lib -> usr/lib, /lib64 -> usr/lib64); the root mirrors that so
  # the ELF interpreter path /lib64/ld-linux-x86-64.so.2 resolves as in the base image.
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  for pkg in libc6 libgcc-s1 libgomp1 libstdc++6 libssl3; do
    dpkg -L "$pkg" >/dev/null 2>&1 || { echo "Debian package $pkg is not installed here"; return 1; }
    while IFS= read -r f; do
      if [ -L "$f" ] || [ -f "$f" ]; then
        dir="$(readlink -f "$(dirname "$f")")"
        mkdir -p "$root$dir"
        cp -a "$f" "$root$dir/"
      fi
    done < <(dpkg -L "$pkg" | grep -E '\.so|/ld-linux')
  done
  cp "$BINARY" "$root/usr/local/bin/pipeline"
  [ -d policies ] && cp -r policies "$root/app/policies"
  [ -d schema ] && cp -r schema "$root/app/schema"
  echo "NEEDED by $BINARY:"
  needed="$(objdump -p "$BINARY" | awk '/NEEDED/ {print $2}')"
  for lib in $needed; do
    if find "$root" -name "$lib" | grep -q .; then
      echo "  $lib (in base image)"
    else
      echo "  $lib MISSING from the base image"
      missing=1
    fi
  done
  [ "$missing" -eq 0 ] || return 1
  if command -v file >/dev/null; then file -L "$BINARY"; fi
  echo "binary: $(du -h "$BINARY" | cut -f1); base-image libraries: $(du -sh "$root/usr/lib" | cut -f1)"
  chroot --userspec=65532:65532 "$root" /usr/local/bin/pipeline --help >"$WORK/help.out" ||
    { echo "pipeline --help failed in the empty root"; cat "$WORK/help.out"; return 1; }
  env -i POLICY_DIR=/app/policies "$(command -v chroot)" --userspec=65532:65532 "$root" \
    /usr/local/bin/pipeline generate --count 3 --seed 1 >"$WORK/gen.out" ||
    { echo "pipeline generate failed in the empty root"; return 1; }
  "$PY" -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; assert len(rows)==3, rows; print("generate: 3 JSON records")' "$WORK/gen.out"
}
if [ ! -x "$BINARY" ]; then
  skip runtime-deps-empty-root "no $BINARY (cargo build --release --bin pipeline first)"
elif [ "$(id -u)" -ne 0 ]; then
  skip runtime-deps-empty-root "needs root for chroot"
else
  check runtime-deps-empty-root runtime_deps
fi

# ------------------------------------------------------------------ summary
echo
if [ "$failed" -gt 0 ]; then
  echo "failed checks: ${failed_names[*]}"
fi
echo "check-deploy: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
