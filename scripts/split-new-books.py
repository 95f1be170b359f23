#!/usr/bin/env python3
"""Splits books off a goodbooks folder as an `add-books` input.

usage: scripts/split-new-books.py SOURCE IDS OUT_FILE [--rest DIR]

IDS is a comma-separated list of book ids, or `unrated:N` for the first N books with no rating.
OUT_FILE (.csv, or .jsonl for JSON lines) gets the books with the columns of books.csv plus
description, tags and genres (names joined by |) and cover (the image, copied next to OUT_FILE
under covers/: add-books reads no cover outside the file's folder). With --rest, DIR becomes a
goodbooks folder without those books (and without their ratings), for a run before add-books.
"""
import argparse, ast, csv, json, os, shutil

parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("ids")
parser.add_argument("out_file")
parser.add_argument("--rest")
args = parser.parse_args()

def rows(name):
    with open(os.path.join(args.source, name), newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)

book_fields, books = rows("books.csv")
_, ratings = rows("ratings.csv")
if args.ids.startswith("unrated:"):
    rated = {r["book_id"] for r in ratings}
    chosen = [b["book_id"] for b in books if b["book_id"] not in rated][: int(args.ids.split(":")[1])]
else:
    chosen = args.ids.split(",")
chosen_set = set(chosen)

tag_names = {r["tag_id"]: r["tag_name"] for r in rows("tags.csv")[1]}
tags = {}
for r in sorted(rows("book_tags.csv")[1], key=lambda r: -float(r["weight"])):
    tags.setdefault(r["book_id"], []).append(tag_names.get(r["tag_id"], ""))
descriptions = {r["book_id"]: r["description"] for r in rows("book_descriptions.csv")[1]}
genres = {r["book_id"]: ast.literal_eval(r["genres"]) for r in rows("book_genres.csv")[1]}
covers = {r["book_id"]: r["file"] for r in rows("covers_manifest.csv")[1]}

out_dir = os.path.dirname(os.path.abspath(args.out_file))
os.makedirs(out_dir, exist_ok=True)
records = []
for book in books:
    if book["book_id"] not in chosen_set:
        continue
    record = {k: book[k] for k in book_fields}
    record["description"] = descriptions.get(book["book_id"], "")
    record["tags"] = "|".join(t for t in tags.get(book["book_id"], [])[:20] if t)
    record["genres"] = "|".join(genres.get(book["book_id"], []))
    record["cover"] = ""
    if book["book_id"] in covers:
        image = os.path.join(args.source, "covers", covers[book["book_id"]])
        os.makedirs(os.path.join(out_dir, "covers"), exist_ok=True)
        shutil.copy(image, os.path.join(out_dir, "covers", covers[book["book_id"]]))
        record["cover"] = "covers/" + covers[book["book_id"]]
    records.append(record)

with open(args.out_file, "w", newline="", encoding="utf-8") as out:
    if args.out_file.endswith(".jsonl"):
        for record in records:
            native = dict(record, book_id=int(record["book_id"]), tags=record["tags"].split("|") if record["tags"] else [],
                          genres=record["genres"].split("|") if record["genres"] else [])
            out.write(json.dumps(native, ensure_ascii=False) + "\n")
    else:
        writer = csv.DictWriter(out, fieldnames=list(records[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
print(f"{args.out_file}: {len(records)} books")

if args.rest:
    os.makedirs(args.rest, exist_ok=True)
    for name in ["books.csv", "ratings.csv", "book_tags.csv", "book_descriptions.csv", "book_genres.csv", "covers_manifest.csv", "tags.csv"]:
        fields, content = rows(name)
        with open(os.path.join(args.rest, name), "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in content if r.get("book_id") not in chosen_set)
    link = os.path.join(args.rest, "covers")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(os.path.join(args.source, "covers")), link)
    print(f"{args.rest}: the rest of {args.source}")
