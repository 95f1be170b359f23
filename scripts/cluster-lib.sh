# Shared by the scripts that run the whole system on one machine (demo.sh, bench-reindex.sh):
# release builds, a private broker, and workers, all stopped again when the script exits.
# Source it from the repo root after `set -euo pipefail`.

swift build -c release --product bookrec-coordinator >/dev/null
swift build -c release --product bookrec-worker >/dev/null
swift build -c release --product bookrec-query >/dev/null
bin="$(swift build -c release --show-bin-path)"

mkdir -p .run
export BOOKREC_BROKER_PORT="${BOOKREC_BROKER_PORT:-5672}"
export BOOKREC_AMQP_URL="${BOOKREC_AMQP_URL:-amqp://guest:guest@127.0.0.1:$BOOKREC_BROKER_PORT/}"
workers=()
# Stops every process started with start_workers (SIGTERM, then waits for each).
stop_workers() {
    for pid in "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
    workers=()
}
cleanup() {
    stop_workers
    scripts/broker.sh stop
}
trap cleanup EXIT
scripts/broker.sh start

# usage: start_workers N LOG_PREFIX
start_workers() {
    for n in $(seq 1 "$1"); do
        "$bin/bookrec-worker" >"$2-$n.log" 2>&1 &
        workers+=("$!")
    done
}

# Seconds since the epoch, and the seconds elapsed since such a time: `started=$(seconds)`, then
# `took=$(seconds_since "$started")`.
seconds() { date +%s.%N; }
seconds_since() { python3 -c "print($(seconds) - $1)"; }
