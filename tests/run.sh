#!/usr/bin/env bash
# The one test command: builds the solution (warnings are errors) and runs every test project.
# Programs that tests need are installed here when missing (as root, with apt-get).
# Prints a closing line "N passed, N failed, N skipped" summed over all test assemblies.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "tests/run.sh: the .NET SDK (dotnet) is required; see global.json for the version." >&2
  exit 1
fi

# The agent's NVML tests build a fake libnvidia-ml from C source.
if ! command -v gcc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing gcc for the fake NVML library" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
  else
    echo "tests/run.sh: gcc is required (the NVML tests build a fake libnvidia-ml); install it and rerun." >&2
    exit 1
  fi
fi

# The MQTT feed's external-broker tests run Mosquitto on a loopback port of their own, and the
# embedded broker is tested with the real mosquitto_sub (from mosquitto-clients).
if { ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; } || ! command -v mosquitto_sub >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing mosquitto and mosquitto-clients for the MQTT feed tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
  else
    echo "tests/run.sh: mosquitto or mosquitto-clients is not installed; the tests that need them are skipped (install them to run them)." >&2
  fi
fi

# The PostgreSQL storage tests run a server of their own (initdb + pg_ctl on a loopback port in a
# temporary directory). Debian keeps the binaries in /usr/lib/postgresql/<version>/bin, off PATH.
postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if ! command -v initdb >/dev/null 2>&1 && [ -z "$(postgres_bin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing postgresql for the PostgreSQL storage tests" >&2
    # The tests start their own servers: the package must not create (and start) a cluster of its own.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/edgegreen-tests.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "tests/run.sh: PostgreSQL (initdb) is not installed; its tests are skipped (install it to run them)." >&2
  fi
fi
if ! command -v initdb >/dev/null 2>&1 && [ -n "$(postgres_bin)" ]; then
  PATH="$(postgres_bin):$PATH"
  export PATH
fi
# The TimescaleDB tests need the extension in that PostgreSQL. Debian's archive does not carry it, so
# nothing here installs it: where it is missing they are skipped, with the reason, even under CI=true.
if [ -n "$(postgres_bin)" ] && [ ! -f "$("$(postgres_bin)/pg_config" --sharedir 2>/dev/null)/extension/timescaledb.control" ]; then
  echo "tests/run.sh: TimescaleDB is not installed for PostgreSQL (Debian's archive does not carry it); its tests are skipped (install Timescale's timescaledb-2-postgresql package or build it from source to run them)." >&2
fi

# The deploy/systemd units are checked with systemd-analyze (verify, and security --offline), which
# needs no running systemd. Debian's container images leave the systemd package out.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing systemd for the unit checks (systemd-analyze)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
  else
    echo "tests/run.sh: systemd-analyze is not installed; the systemd unit checks are skipped (install systemd to run them)." >&2
  fi
fi

# The metrics are checked with promtool and scraped by a real Prometheus server that the tests start
# on a loopback port of their own (Debian's package; its own service is not started in a container).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing prometheus (prometheus and promtool) for the metrics tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "tests/run.sh: prometheus or promtool is not installed; the Prometheus tests are skipped (install prometheus to run them)." >&2
  fi
fi

# Alert notifications are checked against a real Alertmanager that the tests start on a loopback port
# of their own (Debian's package installs it as prometheus-alertmanager; its service is not started
# in a container).
if ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing prometheus-alertmanager for the alert notification tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
  else
    echo "tests/run.sh: prometheus-alertmanager is not installed; the Alertmanager test is skipped (install prometheus-alertmanager to run it)." >&2
  fi
fi

# The OpenAPI document is linted with Spectral's spectral:oas rules, and the dashboard's pages are
# checked with axe-core. Both come from npm at pinned versions into tests/.tools (ignored by git),
# installed together (npm would prune one installed alone as extraneous), where the tests look for
# them; Node.js and npm from the OS packages when missing (Debian's Node.js 18 is within
# Spectral's supported range).
spectral_version=6.16.3
axe_version=4.14.1
tools="$root/tests/.tools"
if [ "$("$tools/node_modules/.bin/spectral" --version 2>/dev/null)" != "$spectral_version" ] \
  || [ "$(node -p "require('$tools/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$axe_version" ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing nodejs and npm for the OpenAPI lint and accessibility tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "tests/run.sh: installing @stoplight/spectral-cli@$spectral_version and axe-core@$axe_version into tests/.tools" >&2
    SCARF_ANALYTICS=false npm install --prefix "$tools" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
      "@stoplight/spectral-cli@$spectral_version" "axe-core@$axe_version" >/dev/null \
      || echo "tests/run.sh: installing Spectral and axe-core failed; their tests are skipped (under CI=true they fail)." >&2
  else
    echo "tests/run.sh: npm is not installed; the OpenAPI lint and accessibility tests are skipped (install Node.js and npm to run them)." >&2
  fi
fi

# The dashboard is tested in a real browser: Microsoft.Playwright drives the OS package's Chromium
# (Playwright's own browser download is not used), and axe-core from npm checks accessibility.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing chromium for the dashboard's browser tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "tests/run.sh: chromium is not installed; the dashboard's browser tests are skipped (install it to run them)." >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT

set +e
# A test that hangs fails the run after 10 minutes, naming the test, instead of holding CI to its limit.
dotnet test EdgeGreen.sln --blame-hang-timeout 10m --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# "Passed!  - Failed:     0, Passed:    21, Skipped:     0, Total:    21, ..." per assembly.
sum() { grep -Eo "$1: +[0-9]+" "$log" | awk '{ total += $2 } END { print total + 0 }'; }
passed=$(sum Passed)
failed=$(sum Failed)
skipped=$(sum Skipped)
echo
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
exit "$status"
