#!/usr/bin/env bash
# Benchmark of training across workers: two full runs on the bundled data with the hashing and
# grid encoders, the first with one worker, the second with two (the second run finds every
# encoding in the cache, so both spend their time training and scoring). Prints, from the
# coordinator's own timings, the iALS rounds (the train jobs) and the whole model step of each
# run, and their ratios. Extra arguments go to both runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
work="$root/.run/bench-training"
rm -rf "$work"
mkdir -p "$work"
export BOOKREC_STORE="$work/store.sqlite"
source scripts/cluster-lib.sh

"$bin/bookrec-coordinator" import --data data/goodbooks 2>/dev/null
start_workers 1 "$work/worker-a"
"$bin/bookrec-coordinator" run --text-encoder hashing --cover-encoder grid "$@" >"$work/one-worker.log" 2>&1
start_workers 1 "$work/worker-b"
"$bin/bookrec-coordinator" run --text-encoder hashing --cover-encoder grid "$@" >"$work/two-workers.log" 2>&1
python3 - "$work/one-worker.log" "$work/two-workers.log" <<'PY'
import re, sys
def timings(path):
    text = open(path).read()
    rounds = float(re.search(r"iALS: \d+ rounds of train jobs on the workers: ([\d.]+) s", text).group(1))
    model = float(re.search(r"train ([\d.]+) s, score", text).group(1))
    return rounds, model
(rounds1, model1), (rounds2, model2) = timings(sys.argv[1]), timings(sys.argv[2])
print(f"iALS rounds (train jobs): 1 worker {rounds1:.1f} s, 2 workers {rounds2:.1f} s: {rounds2 / rounds1:.2f}")
print(f"model step (the train phase): 1 worker {model1:.1f} s, 2 workers {model2:.1f} s: {model2 / model1:.2f}")
PY
