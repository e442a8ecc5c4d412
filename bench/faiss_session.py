"""faiss as the native ceiling of the suite (issue 10): the Python twin of bench/lib/session.mjs.

    python3 bench/faiss_session.py '<job json>'      (bench/run.mjs starts it; pip install faiss-cpu numpy)

Same job format and same protocol as the Node session: loads the prepared TEXMEX folder
(job.dataDir), builds each entry with faiss.index_factory (build.spec: "Flat", "HNSW16",
"IVF128,Flat", ...; build.efConstruction for HNSW), warms every search configuration up, times
interleaved rounds of one-query-at-a-time searches, and prints one `@@bench {json}` line per
configuration. Search params: {"efSearch": n} or {"nprobe": n}, set with faiss.ParameterSpace.

Conditions: one thread (omp_set_num_threads(1)); each query is a (1, dim) float32 row, searched
alone, so every query pays the Python -> C++ call (a few microseconds, like a wasm boundary
crossing). Cosine = inner product on unit vectors (base and queries normalized, as Quiver does);
dot = inner product; l2 = squared L2. CPU time is time.process_time() of this process; memory is
the RSS growth over the build (faiss has no byte count for every index type).
"""

import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

MARKER = "@@bench "


def emit(record):
    sys.stdout.write(MARKER + json.dumps(record) + "\n")
    sys.stdout.flush()


def log(*args):
    print(f"[{JOB.get('label', 'faiss')}]", *args, file=sys.stderr, flush=True)


def read_vecs(path, dtype):
    import numpy as np

    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    return raw.reshape(-1, dim + 1)[:, 1:].copy().view(dtype)


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def quantile(values, q):
    s = sorted(values)
    if not s:
        return float("nan")
    at = (len(s) - 1) * q
    lo, hi = int(at // 1), int(-(-at // 1))
    return s[lo] + (s[hi] - s[lo]) * (at - lo)


def median(values):
    return quantile(values, 0.5)


JOB = json.loads(sys.argv[1])


def main():
    try:
        import faiss
        import numpy as np
    except ImportError as error:
        for entry in JOB["entries"]:
            emit({"kind": "skipped", "entry": entry["id"], "library": "faiss", "reason": f"load: {error} (pip install faiss-cpu numpy)"})
        return
    faiss.omp_set_num_threads(1)
    data = JOB["dataDir"]
    base = read_vecs(f"{data}/base.fvecs", np.float32)
    queries = read_vecs(f"{data}/query.fvecs", np.float32)
    truth = read_vecs(f"{data}/groundtruth.ivecs", np.int32)
    k = JOB.get("k", 10)
    nq = min(len(queries), len(truth), JOB.get("maxQueries") or len(queries))
    queries = np.ascontiguousarray(queries[:nq])
    metric = JOB["metric"]
    if metric == "cosine":
        faiss.normalize_L2(base)
        faiss.normalize_L2(queries)
    faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    expected = [set(truth[q, :k].tolist()) for q in range(nq)]
    rows = [queries[q : q + 1] for q in range(nq)]
    space = faiss.ParameterSpace()

    entries = []
    for entry in JOB["entries"]:
        build = entry.get("build") or {}
        spec = build.get("spec", "Flat")
        before = rss_bytes()
        t0 = time.perf_counter()
        try:
            index = faiss.index_factory(base.shape[1], spec, faiss_metric)
            if "efConstruction" in build:
                faiss.downcast_index(index).hnsw.efConstruction = int(build["efConstruction"])
            if not index.is_trained:
                index.train(base)
            index.add(base)
        except Exception as error:  # a bad spec is reported, not fatal
            emit({"kind": "skipped", "entry": entry["id"], "library": "faiss", "reason": f"build: {error}", "build": build})
            continue
        build_ms = (time.perf_counter() - t0) * 1000
        log(f"{entry['id']}: built {len(base)} x {base.shape[1]} in {build_ms:.0f} ms")
        configs = entry.get("search") or [{}]
        entries.append({
            "entry": entry, "index": index, "build_ms": build_ms, "configs": configs,
            "memory": {"reportedBytes": None, "rssDeltaBytes": rss_bytes() - before, "jsDeltaBytes": None},
            "results": [{"p50": [], "p99": [], "qps": [], "cpu": [], "recall": None} for _ in configs],
        })

    def apply(index, params):
        for name in ("efSearch", "nprobe"):
            if name in params:
                space.set_index_parameter(index, name, int(params[name]))

    def run_pass(index, params):
        apply(index, params)
        times = []
        found = []
        cpu0 = time.process_time()
        start = time.perf_counter()
        for row in rows:
            t0 = time.perf_counter()
            _, ids = index.search(row, k)
            times.append((time.perf_counter() - t0) * 1000)
            found.append(ids[0])
        total_ms = (time.perf_counter() - start) * 1000
        cpu_ms = (time.process_time() - cpu0) * 1000
        return times, found, total_ms, cpu_ms

    warm = min(nq, JOB.get("warmupQueries", 50))
    for e in entries:
        for config in e["configs"]:
            apply(e["index"], config.get("params") or {})
            for row in rows[:warm]:
                e["index"].search(row, k)

    runs = JOB.get("runs", 5) if entries else 0
    for round_ in range(runs):
        for e in entries:
            for c, config in enumerate(e["configs"]):
                times, found, total_ms, cpu_ms = run_pass(e["index"], config.get("params") or {})
                r = e["results"][c]
                r["cpu"].append(cpu_ms / nq)
                r["p50"].append(median(times))
                r["p99"].append(quantile(times, 0.99))
                r["qps"].append(nq * 1000 / total_ms)
                if r["recall"] is None:
                    hits = sum(len(expected[q] & set(found[q][:k].tolist())) for q in range(nq))
                    r["recall"] = hits / (k * nq)
        log(f"round {round_ + 1}/{runs} done")

    for e in entries:
        for c, config in enumerate(e["configs"]):
            r = e["results"][c]
            emit({
                "kind": "result", "entry": e["entry"]["id"], "library": "faiss", "version": faiss.__version__,
                "variant": None, "build": e["entry"].get("build") or {}, "search": config.get("params") or {},
                "mode": "single", "label": config.get("label"), "recall": r["recall"],
                "p50Ms": median(r["p50"]), "p99Ms": median(r["p99"]), "qps": median(r["qps"]),
                "cpuMsPerQuery": median(r["cpu"]), "runsP50Ms": r["p50"], "buildMs": e["build_ms"],
                "memory": e["memory"], "wasmFiles": [],
            })
    emit({"kind": "session", "nq": nq, "k": k, "dim": int(base.shape[1]), "rows": int(base.shape[0]), "runs": runs,
          "python": sys.version.split()[0], "faiss": faiss.__version__})


if __name__ == "__main__":
    main()
