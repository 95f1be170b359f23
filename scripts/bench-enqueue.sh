#!/usr/bin/env bash
# Benchmark of enqueued reindexing: a full run on the bundled data without 101 of its unrated
# books, copied into two stores. On one, `add-books` in the foreground of 1 book, then of the
# other 100 in one file; on the other, `bookrec-coordinator serve` running, the same book enqueued
# (`add-books --enqueue`), then the 100 enqueued as 100 one-book files, one after the other. Prints
# the time from the first enqueue to the activation of the last request, as a ratio to the
# foreground add-books of the same books. Two workers. Extra arguments go to `run`, e.g.
# --text-encoder hashing --cover-encoder grid.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
work="$root/.run/bench-enqueue"
rm -rf "$work"
mkdir -p "$work"
export BOOKREC_STORE="$work/foreground.sqlite"
source scripts/cluster-lib.sh

python3 scripts/split-new-books.py data/goodbooks unrated:101 "$work/new-books.csv" --rest "$work/rest"
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
with open(f"{work}/new-books.csv", newline="") as f:
    rows = list(csv.reader(f))
header, books = rows[0], rows[1:]
def write(path, chosen):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header] + chosen)
write(f"{work}/one.csv", books[:1])
write(f"{work}/hundred.csv", books[1:])
# Beside the others: cover paths are relative to the file's folder.
for n, book in enumerate(books[1:]):
    write(f"{work}/one-book-{n:03d}.csv", [book])
PY
"$bin/bookrec-coordinator" import --data "$work/rest" 2>/dev/null
start_workers 2 "$work/worker"
"$bin/bookrec-coordinator" run "$@" 2>"$work/run.log"
stop_workers
cp "$work/foreground.sqlite" "$work/enqueued.sqlite"

start_workers 2 "$work/foreground-worker"
started=$(seconds)
"$bin/bookrec-coordinator" add-books "$work/one.csv" 2>"$work/foreground-one.log" >/dev/null
one_foreground=$(seconds_since "$started")
started=$(seconds)
"$bin/bookrec-coordinator" add-books "$work/hundred.csv" 2>"$work/foreground-hundred.log" >/dev/null
hundred_foreground=$(seconds_since "$started")
stop_workers

export BOOKREC_STORE="$work/enqueued.sqlite"
start_workers 2 "$work/enqueued-worker"
"$bin/bookrec-coordinator" serve 2>"$work/serve.log" &
service=$!
workers+=("$service")
until grep -q "serving reindex requests" "$work/serve.log"; do sleep 0.1; done
# Waits until no request is queued or running: a read of the requests' table (a `bookrec-query
# status` ten times a second would take a core from the generation it waits for).
wait_applied() {
    until python3 -c '
import sqlite3, sys
pending = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM reindexRequest WHERE state IN (\"queued\", \"running\")").fetchone()[0]
sys.exit(0 if pending == 0 else 1)' "$BOOKREC_STORE"; do sleep 0.1; done
}
started=$(seconds)
"$bin/bookrec-coordinator" add-books "$work/one.csv" --enqueue >/dev/null 2>&1
wait_applied
one_enqueued=$(seconds_since "$started")
started=$(seconds)
for file in "$work"/one-book-*.csv; do "$bin/bookrec-coordinator" add-books "$file" --enqueue >/dev/null 2>&1; done
enqueued_at=$(seconds_since "$started")
wait_applied
hundred_enqueued=$(seconds_since "$started")
generations=$(python3 -c '
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(DISTINCT generationId) FROM reindexRequest WHERE id > 1").fetchone()[0])' "$BOOKREC_STORE")
python3 -c "
print(f'1 book: enqueue to activation {$one_enqueued:.1f} s, foreground add-books {$one_foreground:.1f} s: {$one_enqueued / $one_foreground:.2f}')
print(f'100 books as 100 one-book requests (enqueued in {$enqueued_at:.1f} s, applied in $generations generation(s)): first enqueue to last activation {$hundred_enqueued:.1f} s, foreground add-books of the 100 in one file {$hundred_foreground:.1f} s: {$hundred_enqueued / $hundred_foreground:.2f}')"
