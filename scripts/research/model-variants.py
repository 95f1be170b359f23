#!/usr/bin/env python3
"""Variants of bookrec's item-item and new-book parts, measured on validation in numpy.

A research tool, not part of bookrec: a numpy fit of EASE^R takes about 30 s, so ideas can be
screened here before they are built into the Swift model and `bookrec-coordinator evaluate`.
It carves a split by the protocol of docs/EVALUATION.md from data/goodbooks (with numpy's
generator, so not the same readers and books as the Swift split: its EASE^R validation figure
is 0.1824 against the table's 0.1838) and prints, for each variant and each setting tried,
warm validation NDCG@10 (the first 4,000 validation readers) or cold validation NDCG@10 (the
400 cold-validation books). Nothing here reads a test split.

    pip install numpy scipy          # if missing
    python3 scripts/research/model-variants.py [--data data/goodbooks]    # about 15 minutes
"""
import argparse
import ast
import csv
import re
import time
import zlib
from collections import Counter

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

EASE_REGULARIZATION = 80.0  # the λ bookrec and the EASE^R baseline chose on validation


class Split:
    """Cold and cold-validation books (400 each), then 20% test and 20% of the rest validation
    of each reader with at least 15 remaining ratings; training is what is left."""

    def __init__(self, ratings_path, seed=2024):
        ratings = np.loadtxt(ratings_path, delimiter=",", skiprows=1, dtype=np.int64)
        generator = np.random.default_rng(seed)
        _, self.reader = np.unique(ratings[:, 0], return_inverse=True)
        self.book = ratings[:, 1] - 1
        self.rating = ratings[:, 2].astype(np.float32)
        self.readers, self.books = self.reader.max() + 1, 10000
        shuffled = generator.permutation(np.unique(self.book))
        self.cold_books = np.sort(shuffled[:400])
        self.cold_validation_books = np.sort(shuffled[400:800])
        self.part = np.zeros(len(ratings), np.int8)  # 0 training, 1 validation, 2 test, 3 cold, 4 cold validation
        self.part[np.isin(self.book, self.cold_books)] = 3
        self.part[np.isin(self.book, self.cold_validation_books)] = 4
        warm = np.flatnonzero(self.part == 0)
        warm = warm[np.lexsort((generator.random(len(warm)), self.reader[warm]))]
        bounds = np.r_[0, np.flatnonzero(np.diff(self.reader[warm])) + 1, len(warm)]
        for start, end in zip(bounds[:-1], bounds[1:]):
            count = end - start
            if count < 15:
                continue
            test = int(round(count * 0.2))
            validation = int(round((count - test) * 0.2))
            self.part[warm[start:start + test]] = 2
            self.part[warm[start + test:start + test + validation]] = 1
        self.training = self.matrix(self.part == 0)
        self.rated_books = np.flatnonzero(np.asarray(self.training.sum(0)).ravel() > 0)

    def matrix(self, mask, values=None):
        data = np.ones(mask.sum(), np.float32) if values is None else values[mask]
        return sp.csr_matrix((data, (self.reader[mask], self.book[mask])), shape=(self.readers, self.books))

    def weighted_rows(self, neutral=0.5, disliked=0.0):
        """A reader's rated books as bookrec weighs them: 1 for 4 or 5, `neutral` for 3, `disliked` for 1–2."""
        weights = np.where(self.rating >= 4, 1.0, np.where(self.rating >= 3, neutral, disliked)).astype(np.float32)
        return self.matrix(self.part == 0, weights)

    def liked(self, part):
        relevant = {}
        mask = (self.part == part) & (self.rating >= 4)
        for reader, book in zip(self.reader[mask], self.book[mask]):
            relevant.setdefault(reader, set()).add(book)
        return relevant


def ndcg_at_10(ranked, relevant):
    gain = sum(1 / np.log2(i + 2) for i, book in enumerate(ranked[:10]) if book in relevant)
    return gain / sum(1 / np.log2(i + 2) for i in range(min(10, len(relevant))))


def warm_validation(split, scores, readers=4000):
    """NDCG@10 of `scores(reader indices)` over every warm book a reader has not rated in training."""
    relevant = split.liked(1)
    chosen = sorted(relevant)[:readers]
    excluded = np.r_[split.cold_books, split.cold_validation_books]
    total = 0.0
    for start in range(0, len(chosen), 512):
        batch = np.array(chosen[start:start + 512])
        s = np.array(scores(batch), dtype=np.float64)
        s[:, excluded] = -np.inf
        s[split.training[batch].nonzero()] = -np.inf
        top = np.argpartition(-s, 10, axis=1)[:, :10]
        for row, reader in enumerate(batch):
            ranked = top[row][np.argsort(-s[row, top[row]], kind="stable")]
            total += ndcg_at_10(list(ranked), relevant[reader])
    return total / len(chosen)


def cold_validation(split, scores):
    """NDCG@10 of `scores(reader indices)` (readers × cold-validation books) for every reader who liked one of them."""
    relevant = split.liked(4)
    readers = sorted(relevant)
    books = split.cold_validation_books
    total = 0.0
    for start in range(0, len(readers), 512):
        batch = np.array(readers[start:start + 512])
        top = np.argsort(-np.asarray(scores(batch), dtype=np.float64), axis=1, kind="stable")[:, :10]
        for row, reader in enumerate(batch):
            total += ndcg_at_10([books[i] for i in top[row]], relevant[reader])
    return total / len(readers)


def ease(gram, regularization):
    inverse = np.linalg.inv(gram + regularization * np.eye(gram.shape[0]))
    weights = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0)
    return weights


def ease_with_target(gram, cross, regularization, penalty=None):
    """min ‖Y − XB‖² + ‖Λ^½ B‖² with diag(B) = 0, from XᵀX and XᵀY; Λ = λI unless `penalty` (a diagonal) is given."""
    diagonal = regularization + (penalty if penalty is not None else 0)
    inverse = np.linalg.inv(gram + np.diag(np.broadcast_to(diagonal, gram.shape[0]).astype(np.float64)))
    product = inverse @ cross
    weights = product - inverse * (np.diag(product) / np.diag(inverse))[None, :]
    np.fill_diagonal(weights, 0)
    return weights


def standardized(scores):
    scores = np.asarray(scores, dtype=np.float64)
    return (scores - scores.mean(1, keepdims=True)) / np.maximum(scores.std(1, keepdims=True), 1e-12)


def unit_rows(m):
    if sp.issparse(m):
        norms = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
        return (sp.diags(1 / np.maximum(norms, 1e-12)) @ m).tocsr()
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def book_texts(data):
    """Book.text of the Swift catalog: title by authors, genres, tags by weight, description."""
    books = {int(r["book_id"]): {"title": r["title"], "authors": r["authors"], "genres": [], "tags": [], "description": ""}
             for r in csv.DictReader(open(f"{data}/books.csv", encoding="utf-8"))}
    names = {int(r["tag_id"]): r["tag_name"] for r in csv.DictReader(open(f"{data}/tags.csv", encoding="utf-8"))}
    tagged = {}
    for r in csv.DictReader(open(f"{data}/book_tags.csv", encoding="utf-8")):
        tagged.setdefault(int(r["book_id"]), []).append((-float(r["weight"]), names.get(int(r["tag_id"]), "")))
    for book, tags in tagged.items():
        if book in books:
            books[book]["tags"] = [name for _, name in sorted(tags)]
    for r in csv.DictReader(open(f"{data}/book_genres.csv", encoding="utf-8")):
        try:
            books[int(r["book_id"])]["genres"] = ast.literal_eval(r["genres"])
        except (ValueError, SyntaxError, KeyError):
            pass
    for r in csv.DictReader(open(f"{data}/book_descriptions.csv", encoding="utf-8")):
        if int(r["book_id"]) in books:
            books[int(r["book_id"])]["description"] = r["description"]
    texts = []
    for book in range(1, 10001):
        b = books[book]
        parts = [f"{b['title']} by {b['authors']}."]
        if b["genres"]:
            parts.append("Genres: " + ", ".join(b["genres"]) + ".")
        if b["tags"]:
            parts.append("Tags: " + ", ".join(b["tags"]) + ".")
        if b["description"]:
            parts.append(b["description"])
        texts.append(" ".join(parts))
    return texts


def text_features(texts, buckets=None):
    """Words and word pairs, TF-IDF as the hashing encoder weighs them, unit rows; every distinct
    feature its own column, or signed-hashed into `buckets` columns as the encoder does."""
    documents = []
    for text in texts:
        words = [w for w in re.split(r"[^\w]+", text.lower().replace("_", " ")) if w]
        documents.append(Counter(words + [words[i] + " " + words[i + 1] for i in range(len(words) - 1)]))
    frequency = Counter()
    for document in documents:
        frequency.update(document.keys())
    columns, rows, cols, values = {}, [], [], []
    for row, document in enumerate(documents):
        for feature, count in document.items():
            idf = np.log((len(texts) + 1) / (frequency[feature] + 1)) + 1
            value = (1 + np.log(count)) * idf
            if buckets:
                digest = zlib.crc32(feature.encode())
                column, value = digest % buckets, value * (1 if zlib.crc32(feature.encode() + b"#") & 1 else -1)
            else:
                column = columns.setdefault(feature, len(columns))
            rows.append(row)
            cols.append(column)
            values.append(value)
    width = buckets or len(columns)
    return unit_rows(sp.csr_matrix((values, (rows, cols)), shape=(len(texts), width)))


def ridge_placement(split, content, targets, neighbours=50, ridge=0.3):
    """targets × books: each target book's kernel ridge weights over its nearest rated books by cosine."""
    content = unit_rows(content)
    rated = split.rated_books
    similarity = content[targets] @ content[rated].T
    similarity = similarity.toarray() if sp.issparse(similarity) else similarity
    placement = np.zeros((len(targets), split.books))
    for row in range(len(targets)):
        nearest = np.argpartition(-similarity[row], neighbours)[:neighbours]
        f = content[rated[nearest]]
        f = f.toarray() if sp.issparse(f) else f
        placement[row, rated[nearest]] = np.linalg.solve(f @ f.T + ridge * np.eye(neighbours), similarity[row, nearest])
    return placement


def report(label, figure, started):
    print(f"| {label} | {figure:.4f} | {time.time() - started:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="data/goodbooks")
    data = parser.parse_args().data
    split = Split(f"{data}/ratings.csv")
    rows = split.weighted_rows()
    binary = split.training
    gram = (binary.T @ binary).toarray().astype(np.float64)
    counts = np.diag(gram).copy()
    texts = book_texts(data)
    exact_text = text_features(texts)
    started = time.time()
    projection, singular, _ = svds(exact_text, k=512, random_state=0)
    content = unit_rows(projection * singular)  # 512 directions of the text, as bookrec's content factors are
    print(f"split: {(split.part == 0).sum()} training, {(split.part == 1).sum()} validation ratings; text: {exact_text.shape[1]} features, SVD {time.time() - started:.0f} s")

    print("\n| warm variant | validation NDCG@10 | s |\n|---|---|---|")
    started = time.time()
    base = ease(gram, EASE_REGULARIZATION)
    report("EASE^R, λ 80, rows weighted 1 / 0.5 / 0 (the baseline)", warm_validation(split, lambda u: rows[u] @ base), started)
    for regularization, dropout in [(40, 0.1), (40, 0.25), (20, 0.25)]:
        started = time.time()
        weights = ease_with_target(gram, gram, regularization, dropout / (1 - dropout) * counts)
        report(f"EDLAE (dropout-emphasised penalty λ + p/(1−p)·count), λ {regularization}, p {dropout}", warm_validation(split, lambda u: rows[u] @ weights), started)
    weighted_gram = (rows.T @ rows).toarray().astype(np.float64)
    for regularization in [40, 80]:
        started = time.time()
        weights = ease(weighted_gram, regularization)
        report(f"Gram of the weighted rows, λ {regularization}", warm_validation(split, lambda u: rows[u] @ weights), started)
    started = time.time()
    liked = split.matrix(split.part == 0, (split.rating >= 4).astype(np.float32))
    weights = ease_with_target(gram, (binary.T @ liked).toarray().astype(np.float64), EASE_REGULARIZATION)
    report("predicting the liked books (≥ 4) from the rated ones, λ 80", warm_validation(split, lambda u: rows[u] @ weights), started)
    rating_sums = np.asarray(split.matrix(split.part == 0, split.rating).sum(0)).ravel()
    mean = rating_sums.sum() / counts.sum()
    quality = (rating_sums + 10 * mean) / (counts + 10) - mean
    for weight in [0.02, 0.05]:
        started = time.time()
        report(f"EASE^R + {weight} × the book's shrunk mean rating", warm_validation(split, lambda u: rows[u] @ base + weight * quality[None, :]), started)
    activity = np.maximum(np.asarray(binary.sum(1)).ravel(), 1)
    for exponent in [0.25, 0.5]:
        scaled = sp.diags(activity ** (-exponent / 2)) @ binary
        regularization = EASE_REGULARIZATION * np.mean(activity ** -exponent)
        started = time.time()
        weights = ease((scaled.T @ scaled).toarray().astype(np.float64), regularization)
        report(f"Gram with each reader weighed by (their count)^−{exponent}, λ {regularization:.0f}", warm_validation(split, lambda u: rows[u] @ weights), started)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(1)).ravel())
    unit = sp.diags(1 / np.maximum(norms, 1e-9)) @ rows
    unit_t = unit.T.tocsr()

    def user_knn(readers, neighbours=200):
        similarity = (unit[readers] @ unit_t).toarray()
        similarity[np.arange(len(readers)), readers] = 0
        np.put_along_axis(similarity, np.argpartition(-similarity, neighbours, axis=1)[:, neighbours:], 0, axis=1)
        return (sp.csr_matrix(similarity) @ rows).toarray()
    for weight in [0.1, 0.25]:
        started = time.time()
        report(f"standardised EASE^R + {weight} × standardised user-kNN (200 neighbours)",
               warm_validation(split, lambda u: standardized(rows[u] @ base) + weight * standardized(user_knn(u))), started)
    content_kernel = content @ content.T
    for weight in [30, 100]:
        started = time.time()
        collective = ease(gram + weight * content_kernel, EASE_REGULARIZATION)
        report(f"content in the Gram matrix (collective EASE), γ {weight}", warm_validation(split, lambda u: rows[u] @ collective), started)
        if weight == 30:
            collective_30 = collective
    profiles = split.matrix(split.part == 0, (split.rating >= 4).astype(np.float32))
    for weight in [0.002, 0.005]:
        started = time.time()
        report(f"collective EASE γ 30 + {weight} × the content profile's cosine",
               warm_validation(split, lambda u: rows[u] @ collective_30 + weight * (unit_rows(np.asarray(profiles[u] @ content)) @ content.T)), started)
    prior = content_kernel.copy()
    np.fill_diagonal(prior, 0)
    np.put_along_axis(prior, np.argpartition(-prior, 20, axis=1)[:, 20:], 0, axis=1)
    for weight in [0.01, 0.03]:
        started = time.time()
        weights = ease_with_target(gram, gram + EASE_REGULARIZATION * weight * prior, EASE_REGULARIZATION)
        report(f"B shrunk towards {weight} × the 20 nearest books' content cosines instead of 0", warm_validation(split, lambda u: rows[u] @ weights), started)
    del collective_30, collective, weights, prior, content_kernel

    print("\n| cold variant | cold validation NDCG@10 | s |\n|---|---|---|")
    targets = split.cold_validation_books
    collaborative = lambda u: rows[u] @ base
    for label, features in [("every word and pair its own column", exact_text), ("hashed into 16,384 buckets", text_features(texts, 16384)),
                            ("hashed into 2,048 buckets (the encoder's width)", text_features(texts, 2048)), ("512 SVD directions of the exact text", content)]:
        started = time.time()
        placement = ridge_placement(split, features, targets)
        report(f"content→collaborative (50 neighbours, ridge μ 0.3 over EASE^R), text {label}", cold_validation(split, lambda u: collaborative(u) @ placement.T), started)
    placement = ridge_placement(split, content, targets)
    target_content = content[targets]
    profile = lambda u: unit_rows(np.asarray(profiles[u] @ content)) @ target_content.T
    for weight in [0.3]:
        started = time.time()
        report(f"the SVD placement, standardised, + {weight} × the standardised content profile",
               cold_validation(split, lambda u: standardized(collaborative(u) @ placement.T) + weight * standardized(profile(u))), started)
    # A learned content metric: X ≈ (X F) M Fᵀ over warm books, solved through the eigenvectors of (XF)ᵀ(XF) and FᵀF.
    warm_books = np.setdiff1d(np.arange(split.books), np.r_[split.cold_books, split.cold_validation_books])
    warm_rows, warm_content = rows[:, warm_books], content[warm_books]
    profiles_of_readers = warm_rows @ warm_content
    reader_values, reader_vectors = np.linalg.eigh(profiles_of_readers.T @ profiles_of_readers)
    book_values, book_vectors = np.linalg.eigh(warm_content.T @ warm_content)
    cross = warm_content.T @ ((warm_rows.T @ warm_rows) @ warm_content)
    for regularization in [1e3, 1e4, 3e4]:
        metric = reader_vectors @ ((reader_vectors.T @ cross @ book_vectors) / (reader_values[:, None] * book_values[None, :] + regularization)) @ book_vectors.T
        started = time.time()
        bilinear = lambda u: (rows[u][:, warm_books] @ warm_content) @ metric @ target_content.T
        report(f"the SVD placement + 0.3 × the learned bilinear content score, λ {regularization:.0e}, both standardised",
               cold_validation(split, lambda u: standardized(collaborative(u) @ placement.T) + 0.3 * standardized(bilinear(u))), started)
        values, vectors = np.linalg.eigh((metric + metric.T) / 2)
        learned = content @ vectors * np.sqrt(np.maximum(values, 0))[None, :]
        started = time.time()
        learned_placement = ridge_placement(split, learned, targets)
        learned_targets = unit_rows(learned)[targets]
        report(f"placement and profile in the learned metric's space, λ {regularization:.0e}",
               cold_validation(split, lambda u: standardized(collaborative(u) @ learned_placement.T)
                               + 0.3 * standardized(unit_rows(np.asarray(profiles[u] @ unit_rows(learned))) @ learned_targets.T)), started)
    like_counts = np.asarray(profiles.sum(0)).ravel()
    fitted = split.rated_books[counts[split.rated_books] >= 5]
    share_liked = like_counts[fitted] / counts[fitted]
    coefficients = np.linalg.solve(content[fitted].T @ content[fitted] + np.eye(content.shape[1]), content[fitted].T @ (share_liked - share_liked.mean()))
    predicted = content[targets] @ coefficients
    predicted = (predicted - predicted.mean()) / predicted.std()
    started = time.time()
    report("the SVD placement, standardised, + 0.1 × the share of ≥ 4 ratings predicted from the text",
           cold_validation(split, lambda u: standardized(collaborative(u) @ placement.T) + 0.1 * predicted[None, :]), started)
    started = time.time()
    cold_columns = ease(gram + 30 * (content @ content.T), EASE_REGULARIZATION)[:, targets]
    report("the new books' own columns of collective EASE (γ 30; the Gram matrix holds them through their content)",
           cold_validation(split, lambda u: rows[u] @ cold_columns), started)


if __name__ == "__main__":
    main()
