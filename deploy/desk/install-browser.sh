#!/usr/bin/env bash
# Install Debian's chromium for the desk's browser tests (Playwright drives it; the tests
# never download a browser of their own). Does nothing when /usr/bin/chromium is there.
#
# Usage: deploy/desk/install-browser.sh

set -euo pipefail

LOG_NAME=browser
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

BROWSER="${DESK_TEST_BROWSER:-/usr/bin/chromium}"

if [[ -x "$BROWSER" ]]; then
    info "$BROWSER present"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "$BROWSER not found and apt-get is not available (install chromium)"
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "installing chromium needs root (apt-get install chromium)"
    SUDO=(sudo)
fi
info "installing chromium with apt-get ..."
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null
[[ -x "$BROWSER" ]] || die "$BROWSER is still missing after apt-get install"
info "installed $("$BROWSER" --version 2>/dev/null || echo chromium)"
