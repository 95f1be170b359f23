#!/usr/bin/env bash
# The cold protocol of docs/EVALUATION.md through the reindexing path: a full run on the bundled
# data without the evaluation's 400 cold-test books (nor their ratings), then `add-books` of those
# books, then `evaluate-generation` ranks them for the readers who rated them ≥ 4. Extra
# arguments go to `run`, e.g. --text-encoder minilm --cover-encoder efficientnet.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
work="$root/.run/cold-through-add-books"
rm -rf "$work"
mkdir -p "$work"
export BOOKREC_STORE="$work/store.sqlite"
source scripts/cluster-lib.sh

cold="$("$bin/bookrec-coordinator" evaluate-generation --print-cold-books 2>/dev/null)"
python3 scripts/split-new-books.py data/goodbooks "$cold" "$work/cold-books.csv" --rest "$work/rest"
"$bin/bookrec-coordinator" import --data "$work/rest" 2>/dev/null
start_workers 2 "$work/worker"
"$bin/bookrec-coordinator" run "$@" 2>"$work/run.log"
"$bin/bookrec-coordinator" add-books "$work/cold-books.csv" 2>"$work/add-books.log"
"$bin/bookrec-coordinator" evaluate-generation
