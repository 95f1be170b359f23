#!/usr/bin/env bash
# The main job end to end on the bundled goodbooks data: installs what is missing, starts a
# private broker, imports the catalog, runs the coordinator with two workers, and prints one
# reader's recommendations. Leaves no process running.
#
# Environment: BOOKREC_STORE (default .run/demo.sqlite), BOOKREC_DEMO_READER (default 1),
# BOOKREC_TEXT_ENCODER (minilm or hashing; default minilm), BOOKREC_COVER_ENCODER (efficientnet or
# grid; default efficientnet). setup.sh installs the pretrained weights the defaults need.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
swift build -c release --product bookrec-coordinator >/dev/null
swift build -c release --product bookrec-worker >/dev/null
swift build -c release --product bookrec-query >/dev/null
bin="$(swift build -c release --show-bin-path)"

mkdir -p .run
# OpenBLAS 0.3.21 falls back to generic kernels on CPUs it does not know; AVX-512 ones run SkylakeX's.
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
export BOOKREC_STORE="${BOOKREC_STORE:-$root/.run/demo.sqlite}"
export BOOKREC_BROKER_PORT="${BOOKREC_BROKER_PORT:-5672}"
export BOOKREC_AMQP_URL="${BOOKREC_AMQP_URL:-amqp://guest:guest@127.0.0.1:$BOOKREC_BROKER_PORT/}"
workers=()
cleanup() {
    for pid in "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
    scripts/broker.sh stop
}
trap cleanup EXIT
scripts/broker.sh start

"$bin/bookrec-coordinator" import --data data/goodbooks
for n in 1 2; do
    "$bin/bookrec-worker" >".run/worker-$n.log" 2>&1 &
    workers+=("$!")
done
"$bin/bookrec-coordinator" run \
    --text-encoder "${BOOKREC_TEXT_ENCODER:-minilm}" --cover-encoder "${BOOKREC_COVER_ENCODER:-efficientnet}"
"$bin/bookrec-query" recommend --user "${BOOKREC_DEMO_READER:-1}" -k 10
