#!/usr/bin/env bash
# The whole test suite, one command: installs what the tests need when it is missing, then runs dotnet test.
#   scripts/test.sh                      # everything
#   scripts/test.sh --filter Cluster     # extra arguments go to dotnet test
set -euo pipefail
cd "$(dirname "$0")/.."

# Integration tests start their own redis-server on a free loopback port; they need the binary. The cluster tests
# also run nginx (the balancer, and `nginx -t` on its rendered config) and docker-compose (v1: it validates
# compose.yaml without a Docker engine). The browser tests drive Debian's headless Chromium through Playwright.
missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
# The k6 scripts in load-tests/ are syntax- and contract-checked with node (k6 itself is not installable here).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]} from apt" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Playwright drives the Chromium installed above, through the node driver inside its NuGet package: never a
# browser download of its own.
# Each test project writes its own results file, TestResults/<project>.trx (VSTestLogger in Directory.Build.props).
# A test that runs 5 minutes without an end stops the run (no dump: the Sequence file in TestResults names the test),
# so a hang fails instead of stalling; every test's own waits are far shorter.
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
dotnet test SseChat.sln -c Release --results-directory TestResults \
  --blame-hang-timeout 5min --blame-hang-dump-type none "$@"
