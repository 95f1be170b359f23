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
export BOOKREC_STORE="${BOOKREC_STORE:-$root/.run/demo.sqlite}"
source scripts/cluster-lib.sh

"$bin/bookrec-coordinator" import --data data/goodbooks
start_workers "${BOOKREC_DEMO_WORKERS:-2}" .run/worker
"$bin/bookrec-coordinator" run \
    --text-encoder "${BOOKREC_TEXT_ENCODER:-minilm}" --cover-encoder "${BOOKREC_COVER_ENCODER:-efficientnet}"
"$bin/bookrec-query" recommend --user "${BOOKREC_DEMO_READER:-1}" -k 10
echo "To browse these lists: $bin/bookrec-query serve --store $BOOKREC_STORE, then open http://127.0.0.1:8080/readers/${BOOKREC_DEMO_READER:-1}"
