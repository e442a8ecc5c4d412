"""faiss baseline for the Quantization section of bench/README.md.

Same data, metric and parameters as `cargo run --release --example quant_bench`: inner product
on the unit-length MiniLM dev set, SQ8 (QT_8bit), PQ48 / PQ96 (nbits 8), IVF256,PQ48 (residual,
nprobe 32), rerank = IndexRefineFlat with k_factor 10 (100 candidates for k = 10). Training uses
the first 12288 base vectors, which is what Quiver's automatic training sees when vectors are
added in batches of 4096 (it trains once 9984 are buffered). One thread; queries one at a time.

    pip install faiss-cpu numpy
    python3 bench/quant_faiss.py [DATA_DIR]
"""

import sys
import time

import faiss
import numpy as np


def fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    return raw.reshape(-1, dim + 1)[:, 1:].view(np.float32).copy()


def ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    k = raw[0]
    return raw.reshape(-1, k + 1)[:, 1:]


def recall_at_10(found, truth):
    hits = sum(len(set(f[:10]) & set(t[:10])) for f, t in zip(found, truth))
    return hits / (10 * len(truth))


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dev-minilm-20k"
    base = fvecs(f"{data}/base.fvecs")
    queries = fvecs(f"{data}/query.fvecs")
    truth = ivecs(f"{data}/groundtruth.ivecs")
    faiss.normalize_L2(base)
    faiss.normalize_L2(queries)
    faiss.omp_set_num_threads(1)
    d = base.shape[1]
    train = base[:12288]
    ip = faiss.METRIC_INNER_PRODUCT

    def ivfpq(m):
        quantizer = faiss.IndexFlatIP(d)
        return faiss.IndexIVFPQ(quantizer, d, 256, m, 8, ip)

    cases = [
        ("SQ8", lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, ip), None),
        ("PQ48", lambda: faiss.IndexPQ(d, 48, 8, ip), None),
        ("PQ96", lambda: faiss.IndexPQ(d, 96, 8, ip), None),
        ("IVF256,PQ48", lambda: ivfpq(48), 32),
    ]
    print(f"faiss {faiss.__version__}, {base.shape[0]} x {d}, {len(queries)} queries, one thread\n")
    print("| spec | bytes/vector (codes) | train+add s | recall@10 no rerank | recall@10 rerank 100 | QPS no rerank | QPS rerank |")
    print("|---|---|---|---|---|---|---|")
    for name, make, nprobe in cases:
        index = make()
        started = time.perf_counter()
        index.train(train)
        index.add(base)
        seconds = time.perf_counter() - started
        if nprobe:
            index.nprobe = nprobe
        refine = faiss.IndexRefineFlat(index, faiss.swig_ptr(base))
        refine.k_factor = 10
        results = []
        for searcher in (index, refine):
            started = time.perf_counter()
            found = [searcher.search(q[None, :], 10)[1][0] for q in queries]
            qps = len(queries) / (time.perf_counter() - started)
            results.append((recall_at_10(found, truth), qps))
        print(
            f"| {name} | {index.sa_code_size()} | {seconds:.2f} | {results[0][0]:.4f} | "
            f"{results[1][0]:.4f} | {results[0][1]:.0f} | {results[1][1]:.0f} |"
        )


if __name__ == "__main__":
    main()
