#!/usr/bin/env python3
"""Cuts the small slices of data/goodbooks that the tests read (Tests/Fixtures/goodbooks-slice,
and goodbooks-tiny with `scripts/make-test-slice.py 24 200 Tests/Fixtures/goodbooks-tiny`).

The first BOOKS books, their tags, genres and descriptions, the covers among them, and the
ratings of those books by the first READERS readers who rated any of them. Run from the repo root.
"""
import csv, os, shutil, sys

# usage: scripts/make-test-slice.py [BOOKS READERS TARGET]
BOOKS, READERS = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (300, 1500)
source = "data/goodbooks"
target = sys.argv[3] if len(sys.argv) > 3 else "Tests/Fixtures/goodbooks-slice"
os.makedirs(os.path.join(target, "covers"), exist_ok=True)

def copy(name, keep):
    with open(os.path.join(source, name), newline="", encoding="utf-8") as f, \
         open(os.path.join(target, name), "w", newline="", encoding="utf-8") as out:
        reader = csv.reader(f)
        writer = csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        rows = [row for row in reader if keep(dict(zip(header, row)))]
        writer.writerows(rows)
        return rows

in_slice = lambda row: int(row["book_id"]) <= BOOKS
copy("books.csv", in_slice)
copy("book_descriptions.csv", in_slice)
copy("book_genres.csv", in_slice)
tag_rows = copy("book_tags.csv", in_slice)
used_tags = {row[1] for row in tag_rows}
copy("tags.csv", lambda row: row["tag_id"] in used_tags)
readers = []
def keep_rating(row):
    if int(row["book_id"]) > BOOKS:
        return False
    if row["user_id"] not in readers:
        if len(readers) >= READERS:
            return False
        readers.append(row["user_id"])
    return True
copy("ratings.csv", keep_rating)
covers = copy("covers_manifest.csv", in_slice)
for row in covers:
    shutil.copy(os.path.join(source, "covers", row[1]), os.path.join(target, "covers", row[1]))
shutil.copy(os.path.join(source, "README.md"), os.path.join(target, "README.md"))
print("slice written to", target)
