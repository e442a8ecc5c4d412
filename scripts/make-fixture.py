#!/usr/bin/env python3
"""Builds tests/fixtures/minilm-3k from ../shared/data/dev-minilm-20k.

The fixture is the first 3000 base passages and the first 100 queries of the dev set, with exact
top-100 ground truth over the subset (float64 brute force, ties by smaller index, as the dev
set's own ground truth). It is committed: the wasm tests embed it and the demo serves it.
Re-running this script reproduces the committed files byte for byte.
"""
import json
import pathlib
import sys

import numpy as np

N_BASE, N_QUERY, GT_K = 3000, 100, 100
here = pathlib.Path(__file__).resolve().parent.parent
src = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared/data/dev-minilm-20k"
out = here / "tests/fixtures/minilm-3k"
out.mkdir(parents=True, exist_ok=True)


def read_fvecs(path, n):
    raw = np.fromfile(path, dtype="<i4")
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:n, 1:].view("<f4").copy()


def write_vecs(path, rows, dtype):
    rows = np.ascontiguousarray(rows, dtype=dtype)
    dims = np.full((rows.shape[0], 1), rows.shape[1], dtype="<i4")
    np.hstack([dims.view(dtype), rows]).astype(dtype).tofile(path)


def head_lines(path, n):
    with open(path, encoding="utf-8") as f:
        return [next(f) for _ in range(n)]


def exact(base, queries, metric):
    b, q = base.astype(np.float64), queries.astype(np.float64)
    if metric == "cosine":
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        dist = -(q @ b.T)
    else:
        dist = (q * q).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * q @ b.T
    idx = np.arange(b.shape[0])
    return np.array([np.lexsort((idx, row))[:GT_K] for row in dist], dtype="<i4")


base = read_fvecs(src / "base.fvecs", N_BASE)
queries = read_fvecs(src / "query.fvecs", N_QUERY)
write_vecs(out / "base.fvecs", base, "<f4")
write_vecs(out / "query.fvecs", queries, "<f4")
write_vecs(out / "groundtruth.ivecs", exact(base, queries, "cosine"), "<i4")

for name in ["texts.jsonl", "metadata.jsonl"]:
    (out / name).write_text("".join(head_lines(src / name, N_BASE)), encoding="utf-8")
for name in ["query-texts.jsonl", "query-metadata.jsonl"]:
    (out / name).write_text("".join(head_lines(src / name, N_QUERY)), encoding="utf-8")
(out / "README.md").write_text(
    f"""# minilm-3k: a committed subset of dev-minilm-20k

The first {N_BASE} base passages and first {N_QUERY} queries of `../shared/data/dev-minilm-20k`
(all-MiniLM-L6-v2, 384-d, unit norm), with exact cosine top-{GT_K} ground truth over this subset
(float64 brute force, ties by smaller index). Made by `scripts/make-fixture.py`; used by the
wasm recall tests (embedded with `include_bytes!`) and served by the demo as its default corpus.

| file | content |
| --- | --- |
| base.fvecs | {N_BASE} x 384 |
| query.fvecs | {N_QUERY} x 384 |
| groundtruth.ivecs | {N_QUERY} x {GT_K} exact cosine neighbours within base.fvecs |
| texts.jsonl, metadata.jsonl | line i describes base vector i |
| query-texts.jsonl, query-metadata.jsonl | line i describes query i |
""",
    encoding="utf-8",
)
print("wrote", out)
