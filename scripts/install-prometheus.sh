#!/usr/bin/env bash
# Debian's prometheus package (/usr/bin/prometheus and /usr/bin/promtool), binaries only:
# the package's own service is kept from starting. Idempotent.
set -euo pipefail
if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 = "action forbidden": the postinst must not start a server.
policy_rc=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
  chmod +x "$policy_rc"
  own_policy=1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus
if [ "$own_policy" -eq 1 ]; then
  rm -f "$policy_rc"
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi
