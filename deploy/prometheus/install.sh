#!/usr/bin/env bash
# Install what the operations tests run: Debian's Prometheus server and promtool, and
# docker-compose 1.29 (it validates docker-compose.yml without a Docker daemon).
#
# Usage: deploy/prometheus/install.sh
#
# Only what is missing is installed; the Prometheus package's own service is not used (the
# tests start a server of their own on a free port).

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_NAME=ops-tools
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$SCRIPT_DIR/../lib.sh"

missing=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]} == 0)); then
    info "prometheus, promtool and docker-compose are installed"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available to install them"
info "installing ${missing[*]} with apt-get ..."
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
for tool in prometheus promtool docker-compose; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing after apt-get install"
done
info "installed ${missing[*]}"
