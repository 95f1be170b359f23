#!/usr/bin/env bash
# Benchmark of reindexing: a full run on the bundled data without 100 of its unrated books, then
# `add-books` of those 100, with two workers; prints both times and their ratio (same machine,
# same session). Extra arguments go to `run`, e.g. --text-encoder minilm --cover-encoder efficientnet.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
work="$root/.run/bench-reindex"
rm -rf "$work"
mkdir -p "$work"
export BOOKREC_STORE="$work/store.sqlite"
source scripts/cluster-lib.sh

python3 scripts/split-new-books.py data/goodbooks unrated:100 "$work/new-books.csv" --rest "$work/rest"
"$bin/bookrec-coordinator" import --data "$work/rest" 2>/dev/null
start_workers 2 "$work/worker"
started=$(seconds)
"$bin/bookrec-coordinator" run "$@" 2>"$work/run.log"
full=$(seconds_since "$started")
started=$(seconds)
"$bin/bookrec-coordinator" add-books "$work/new-books.csv" 2>"$work/add-books.log"
incremental=$(seconds_since "$started")
python3 -c "print(f'full run {$full:.1f} s, add-books of 100 books {$incremental:.1f} s: {$incremental / $full:.3f} of the full run')"
