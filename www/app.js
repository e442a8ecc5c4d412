// The Quiver demo: loads the embedded corpus (3,000 passages with precomputed all-MiniLM-L6-v2
// embeddings), builds the chosen index in a Web Worker (the package's `quiver-vectors/worker`),
// and answers queries with live latency and recall@10 against exact search (brute force here,
// in JavaScript, over the same vectors). Typed questions are embedded live by the same model in
// a second worker (`quiver-vectors/embed-worker`), and the user's own .txt/.md files are
// chunked, embedded and kept in IndexedDB through `quiver-vectors/text`.
import * as quiver from "quiver-vectors";
import { WorkerEmbedder } from "quiver-vectors/embed-worker";
import { TextStore, decodeUtf8 } from "quiver-vectors/text";

const { init, WorkerVectorStore, simdEnabled, version } = quiver;
/** The IndexedDB database the worker saves the store in (see worker.js). */
const DATABASE = "quiver-demo";
const STORE_NAME = "demo";
/** The user's files: their own store, in their own worker and database (see worker.js). */
const FILES_STORE = "files";
/** Names and passage counts of the stored files, for the list (the passages are in IndexedDB). */
const FILES_LIST_KEY = "quiver-demo-files";
/** Persistence needs a quiver-vectors with the IndexedDB adapter. */
const persistent = typeof quiver.IndexedDBStorage === "function" && typeof indexedDB !== "undefined";

const $ = (id) => document.getElementById(id);
const SWEEP_QUERIES = 20;
const state = {
  store: null, worker: null, spec: "", dim: 0, rows: 0,
  base: null, texts: [], metadata: [], queries: [], queryVectors: null,
  current: null, // { vector, label, excludeId }
  embedder: null, embedderReady: null, files: null, fileNames: [],
};

// ---------------------------------------------------------------- data

function parseFvecs(buffer) {
  const view = new DataView(buffer);
  const dim = view.getInt32(0, true);
  const rows = buffer.byteLength / (4 * (dim + 1));
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) data.set(new Float32Array(buffer, 4 * (r * (dim + 1) + 1), dim), r * dim);
  return { dim, rows, data };
}

async function fetchJsonl(url) {
  const text = await (await fetch(url)).text();
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/** Unit-length copies, so exact cosine search is a dot product. */
function normalizeRows(data, dim) {
  const out = new Float32Array(data.length);
  for (let r = 0; r < data.length / dim; r++) {
    let n = 0;
    for (let d = 0; d < dim; d++) n += data[r * dim + d] ** 2;
    const inv = 1 / Math.sqrt(n || 1);
    for (let d = 0; d < dim; d++) out[r * dim + d] = data[r * dim + d] * inv;
  }
  return out;
}

/** Exact top-k by cosine over the corpus, optionally among one category: ids as strings. */
function exactTopK(vector, k, category, excludeId) {
  const { base, dim, rows, metadata } = state;
  let qn = 0;
  for (let d = 0; d < dim; d++) qn += vector[d] ** 2;
  const inv = 1 / Math.sqrt(qn || 1);
  const scored = [];
  for (let r = 0; r < rows; r++) {
    if (category && metadata[r].category !== category) continue;
    if (String(r) === excludeId) continue;
    let s = 0;
    const off = r * dim;
    for (let d = 0; d < dim; d++) s += base[off + d] * vector[d];
    scored.push([s * inv, r]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return scored.slice(0, k).map(([, r]) => String(r));
}

// ---------------------------------------------------------------- index

function family() {
  return $("family").value;
}

function specFor(f) {
  switch (f) {
    case "IVF": return `IVF${$("nlist").value}`;
    case "HNSW": return `HNSW${$("hnsw-m").value}`;
    case "PQ": return `PQ${$("pq-m").value}`;
    default: return f;
  }
}

const familyNotes = {
  Flat: "Exact search: every vector is scored. The reference for recall.",
  IVF: "Inverted lists over k-means centroids (trains itself at 39 · nlist vectors); nprobe lists are scanned per query.",
  HNSW: "A navigable small-world graph; ef_search trades latency for recall.",
  SQ8: "8-bit scalar quantization (4× smaller codes; trains itself at 1,000 vectors); rerank re-scores candidates with full vectors.",
  PQ: "Product quantization. It trains itself at 9,984 vectors (39 · 256), more than this 3,000-passage corpus, so here it keeps the vectors in its exact buffer and answers exactly.",
};

/** Shows only the parameter fields of the chosen family. */
function showFamilyFields() {
  const f = family();
  for (const el of document.querySelectorAll("[data-for]")) el.hidden = !el.dataset.for.split(" ").includes(f);
  $("family-note").textContent = familyNotes[f];
}

function searchParams() {
  const f = family();
  const num = (id) => Math.max(0, Number($(id).value) || 0);
  if (f === "IVF") return { nprobe: Math.max(1, num("nprobe")) };
  if (f === "HNSW") return { efSearch: Math.max(1, num("ef")) };
  if (f === "SQ8" || f === "PQ") return { rerank: num("rerank") };
  return {};
}

function statsRow(list, term, value, key) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  if (key) dd.dataset.key = key;
  list.append(dt, dd);
}

async function showStats(extra) {
  const s = await state.store.stats();
  const list = $("index-stats");
  list.replaceChildren();
  statsRow(list, "Index", s.index, "index");
  statsRow(list, "Passages", s.count.toLocaleString("en"), "count");
  statsRow(list, "Memory", `${(s.memoryBytes / 2 ** 20).toFixed(2)} MiB`, "memory");
  for (const [term, value, key] of extra) statsRow(list, term, value, key);
  statsRow(list, "SIMD128", s.simd ? "on" : "off");
}

function setBusy(busy) {
  for (const id of ["build", "search", "sweep", "example", "typed", "category"]) $(id).disabled = busy;
}

function newWorker() {
  state.worker?.terminate();
  state.store = null;
  state.worker = new Worker(new URL("worker.js", import.meta.url), { type: "module", name: "quiver" });
  return state.worker;
}

function deleteDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(DATABASE);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    // Another tab still holds it open: it is deleted once that tab lets go.
    request.onblocked = () => resolve();
  });
}

async function build() {
  const spec = specFor(family());
  setBusy(true);
  delete document.body.dataset.built;
  delete document.body.dataset.opened;
  const worker = newWorker();
  // A fresh build replaces the saved store (create refuses a name that is taken).
  if (persistent) await deleteDatabase();
  const progress = $("progress");
  progress.value = 0;
  status(`Building ${spec} in a Web Worker…`);
  try {
    const started = performance.now();
    const store = await WorkerVectorStore.create(worker, { name: STORE_NAME, dimension: state.dim, metric: "cosine", index: spec, seed: 42 });
    // Batches of 250, so the bar moves and the page can repaint between them.
    const batch = 250;
    for (let start = 0; start < state.rows; start += batch) {
      const end = Math.min(state.rows, start + batch);
      const items = [];
      for (let r = start; r < end; r++) {
        const m = state.metadata[r];
        items.push({
          id: String(r),
          vector: state.rawBase.subarray(r * state.dim, (r + 1) * state.dim),
          metadata: { category: m.category, year: m.year },
        });
      }
      await store.add(items);
      progress.value = end / state.rows;
    }
    // The first search pays for lazy work (e.g. IVF training checks); count it in the build.
    await store.search({ vector: state.queryVectors.subarray(0, state.dim), k: 1 });
    const buildMs = performance.now() - started;
    Object.assign(state, { store, spec });
    const extra = [["Build time", `${buildMs.toFixed(0)} ms`, "build-ms"]];
    let saved = "";
    if (persistent) {
      const saveStarted = performance.now();
      try {
        await store.save();
        const saveMs = performance.now() - saveStarted;
        extra.push(["Saved to IndexedDB", `${saveMs.toFixed(0)} ms`, "save-ms"]);
        saved = ` Saved to IndexedDB in ${saveMs.toFixed(0)} ms: a reload opens it without rebuilding.`;
        $("clear-storage").disabled = false;
      } catch (error) {
        if (!quiver.isQuiverError(error, "unsupported")) throw error;
        // Some families cannot be snapshotted by this version: keep the store in memory only.
        saved = ` Not saved: ${error.message}, so a reload rebuilds.`;
        await deleteDatabase();
      }
    }
    await showStats(extra);
    status(`Built ${spec} over ${state.rows.toLocaleString("en")} passages in ${buildMs.toFixed(0)} ms.${saved}`);
    document.body.dataset.built = spec;
    $("plot").replaceChildren();
    $("plot-caption").textContent = "";
    setBusy(false);
    await runSearch();
  } catch (error) {
    setBusy(false);
    fail(error);
  }
}

// ---------------------------------------------------------------- search

function k() {
  return Math.max(1, Math.min(100, Number($("k").value) || 10));
}

async function runSearch() {
  if (!state.store || !state.current) return;
  const { vector, label, excludeId } = state.current;
  const category = $("category").value;
  const filter = category ? { category } : undefined;
  const n = k();
  const params = searchParams();
  const started = performance.now();
  let hits = await state.store.search({ vector, k: excludeId ? n + 1 : n, filter, params });
  const elapsed = performance.now() - started;
  if (excludeId) hits = hits.filter((h) => h.id !== excludeId).slice(0, n);
  const exact = exactTopK(vector, 10, category, excludeId);
  const found = new Set(hits.slice(0, 10).map((h) => h.id));
  const recall = exact.length ? exact.filter((id) => found.has(id)).length / exact.length : 1;
  // The user's files are searched too (without the corpus's category filter) and merged by
  // score: both stores hold cosine similarities of the same model.
  if (state.files && state.fileNames.length > 0 && !category) {
    const fileHits = (await state.files.store.search({ vector, k: n })).map((h) => ({ ...h, source: "file" }));
    hits = [...hits, ...fileHits].sort((a, b) => b.score - a.score).slice(0, n);
  }
  render(hits, label);
  const stats = $("search-stats");
  stats.textContent = `${hits.length} results in ${elapsed.toFixed(2)} ms (worker round trip) · ` +
    `recall@10 ${recall.toFixed(2)} against exact search · ${state.spec}` +
    (Object.keys(params).length ? ` ${JSON.stringify(params)}` : "") + (category ? ` · category ${category}` : "");
  stats.dataset.recall = String(recall);
}

function render(hits, label) {
  $("query-text").textContent = label;
  const list = $("results");
  list.replaceChildren();
  for (const hit of hits) {
    const row = Number(hit.id);
    const item = document.createElement("li");
    item.dataset.id = hit.id;
    if (hit.source === "file") item.dataset.source = "file";
    const meta = document.createElement("div");
    meta.className = "meta";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(4);
    const title = document.createElement("span");
    title.textContent = hit.source === "file"
      ? `${hit.metadata.file} · passage ${hit.metadata.chunk + 1}`
      : `${state.metadata[row]?.title ?? ""} · ${hit.metadata?.category ?? ""} · ${hit.metadata?.year ?? ""}`;
    const more = document.createElement("button");
    more.type = "button";
    more.className = "link";
    more.textContent = "More like this";
    more.setAttribute("aria-label", `More like passage ${hit.id}`);
    more.addEventListener("click", () => moreLikeThis(hit.id));
    meta.append(score, title);
    if (hit.source !== "file") meta.append(more);
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = hit.source === "file" ? hit.metadata.text : state.texts[row]?.text ?? "";
    item.append(meta, text);
    list.append(item);
  }
}

function exampleQuery(q) {
  state.current = {
    vector: state.queryVectors.subarray(q * state.dim, (q + 1) * state.dim),
    label: `Example ${q}: “${state.queries[q].text.slice(0, 200)}…”`,
  };
}

function moreLikeThis(id) {
  const row = Number(id);
  state.current = {
    vector: state.rawBase.subarray(row * state.dim, (row + 1) * state.dim),
    label: `More like passage #${id}: “${state.texts[row].text.slice(0, 160)}…”`,
    excludeId: id,
  };
  runSearch().catch(fail);
}

/** Embeds the typed question in the embedding worker and searches with it. */
async function typedQuery() {
  const text = $("typed").value.trim();
  if (!text) return;
  const embedder = await state.embedderReady;
  const started = performance.now();
  const [vector] = await embedder.embed([text]);
  const embedMs = performance.now() - started;
  state.current = { vector, label: `“${text}” (embedded live in ${embedMs.toFixed(0)} ms)` };
  await runSearch();
}

// ---------------------------------------------------------------- live embedding and files

/** Starts the embedding worker; the page stays usable while the model loads. */
function startEmbedder() {
  const worker = new Worker(new URL("embed-worker.js", import.meta.url), { type: "module", name: "quiver-embed" });
  const started = performance.now();
  $("embed-note").textContent = "Loading the embedding model (all-MiniLM-L6-v2, int8) in a Web Worker…";
  state.embedderReady = WorkerEmbedder.connect(worker).then(
    (embedder) => {
      state.embedder = embedder;
      $("embed-note").textContent = `Live embedding: ${embedder.name} (${embedder.dimension}-d, ${embedder.maxTokens}-token window) ` +
        `loaded in ${(performance.now() - started).toFixed(0)} ms, running in a Web Worker on this device.`;
      document.body.dataset.embedder = "ready";
      return embedder;
    },
    (error) => {
      $("embed-note").textContent = `Live embedding is unavailable: ${error.code ? `[${error.code}] ` : ""}${error.message}`;
      $("embed-note").className = "note error";
      document.body.dataset.embedder = "failed";
      throw error;
    },
  );
  state.embedderReady.catch(() => undefined);
}

/** Opens (or creates) the files store and wraps it in a TextStore once the model is ready. */
async function openFiles() {
  const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module", name: "quiver-files" });
  let store;
  try {
    store = await WorkerVectorStore.open(worker, { name: FILES_STORE });
  } catch (error) {
    if (!quiver.isQuiverError(error, "not_found")) console.warn("could not open the saved files, starting empty", error);
    store = await WorkerVectorStore.create(worker, { name: FILES_STORE, dimension: state.dim, metric: "cosine", index: "Flat" });
  }
  const count = (await store.stats()).count;
  state.fileNames = count > 0 ? JSON.parse(localStorage.getItem(FILES_LIST_KEY) ?? "[]") : [];
  const embedder = await state.embedderReady;
  state.files = new TextStore(store, embedder);
  renderFiles();
  $("files").disabled = false;
  document.body.dataset.files = String(count);
}

function renderFiles() {
  const list = $("file-list");
  list.replaceChildren();
  for (const { name, passages } of state.fileNames) {
    const item = document.createElement("li");
    item.textContent = `${name} · ${passages} passage${passages === 1 ? "" : "s"} `;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => removeFile(name).catch(fail));
    item.append(remove);
    list.append(item);
  }
  localStorage.setItem(FILES_LIST_KEY, JSON.stringify(state.fileNames));
}

function filesStatus(message, isError = false) {
  $("files-status").textContent = message;
  $("files-status").className = isError ? "note error" : "note";
}

/**
 * Adds dropped or chosen files, all or nothing: every file is read and checked (a .txt/.md name,
 * UTF-8, not empty, not already added) before anything is embedded, and the passages are
 * stored and saved in one write.
 */
async function addFiles(fileList) {
  const files = [...fileList];
  if (files.length === 0) return;
  if (!state.files) {
    filesStatus("The embedding model is still loading; try again in a moment.", true);
    return;
  }
  const docs = [];
  try {
    for (const file of files) {
      if (!/\.(txt|md|markdown)$/i.test(file.name)) throw new Error(`${file.name} is not a .txt or .md file`);
      if (state.fileNames.some((f) => f.name === file.name) || docs.some((d) => d.id === file.name)) throw new Error(`${file.name} is already added (remove it first to replace it)`);
      const text = decodeUtf8(await file.arrayBuffer(), file.name);
      if (text.trim().length === 0) throw new Error(`${file.name} is empty`);
      docs.push({ id: file.name, text, metadata: { file: file.name } });
    }
  } catch (error) {
    filesStatus(`Nothing added: ${error.message}.`, true);
    return;
  }
  $("files").disabled = true;
  const progress = $("files-progress");
  progress.value = 0;
  const started = performance.now();
  try {
    const ids = await state.files.addDocuments(docs, {
      onProgress: ({ phase, done, total }) => {
        if (phase === "embed") progress.value = done / total;
        filesStatus(`${phase === "chunk" ? "Splitting" : phase === "embed" ? "Embedding" : "Storing"} ${done} / ${total}…`);
      },
    });
    await state.files.store.save();
    progress.value = 1;
    for (const doc of docs) state.fileNames.push({ name: doc.id, passages: ids.filter((id) => id.startsWith(`${doc.id}#`)).length });
    renderFiles();
    filesStatus(`Added ${docs.map((d) => d.id).join(", ")}: ${ids.length} passages embedded and saved in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    document.body.dataset.files = String((await state.files.store.stats()).count);
    if (state.current) await runSearch();
  } catch (error) {
    filesStatus(`Nothing added: ${error.code ? `[${error.code}] ` : ""}${error.message}.`, true);
  } finally {
    $("files").disabled = false;
  }
}

async function removeFile(name) {
  await state.files.deleteDocuments([name]);
  await state.files.store.save();
  state.fileNames = state.fileNames.filter((f) => f.name !== name);
  renderFiles();
  filesStatus(`Removed ${name}.`);
  document.body.dataset.files = String((await state.files.store.stats()).count);
  if (state.current) await runSearch();
}

function wireDropZone() {
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    addFiles(e.dataTransfer.files).catch(fail);
  });
  $("files").addEventListener("change", (e) => addFiles(e.target.files).then(() => (e.target.value = "")).catch(fail));
}

// ---------------------------------------------------------------- sweep

function sweepValues() {
  switch (family()) {
    case "IVF": return { name: "nprobe", key: "nprobe", values: [1, 2, 4, 8, 16, Number($("nlist").value)] };
    case "HNSW": return { name: "ef_search", key: "efSearch", values: [10, 20, 40, 80, 160, 320] };
    case "SQ8": case "PQ": return { name: "rerank", key: "rerank", values: [0, 10, 20, 50, 100] };
    default: return { name: "(none: exact)", key: null, values: [0] };
  }
}

async function sweep() {
  setBusy(true);
  const { name, key, values } = sweepValues();
  const points = [];
  try {
    // One untimed pass first, so the first point does not pay for JIT and cache warm-up.
    for (let q = 0; q < SWEEP_QUERIES; q++) {
      await state.store.search({ vector: state.queryVectors.subarray(q * state.dim, (q + 1) * state.dim), k: 10 });
    }
    for (const value of values) {
      const params = key ? { [key]: value } : {};
      let recall = 0;
      let ms = 0;
      for (let q = 0; q < SWEEP_QUERIES; q++) {
        const vector = state.queryVectors.subarray(q * state.dim, (q + 1) * state.dim);
        const started = performance.now();
        const hits = await state.store.search({ vector, k: 10, params });
        ms += performance.now() - started;
        const found = new Set(hits.map((h) => h.id));
        recall += exactTopK(vector, 10).filter((id) => found.has(id)).length / 10;
      }
      points.push({ value, recall: recall / SWEEP_QUERIES, ms: ms / SWEEP_QUERIES });
    }
    drawPlot(points, name);
  } finally {
    setBusy(false);
  }
}

function svgEl(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [a, v] of Object.entries(attrs)) el.setAttribute(a, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Recall@10 (y) against mean latency (x), one labelled point per parameter value. */
function drawPlot(points, name) {
  const W = 520, H = 260, L = 52, R = 16, T = 14, B = 40;
  const maxMs = Math.max(...points.map((p) => p.ms)) * 1.1 || 1;
  const minRecall = Math.min(0.9, Math.floor(Math.min(...points.map((p) => p.recall)) * 10) / 10);
  const x = (ms) => L + (ms / maxMs) * (W - L - R);
  const y = (r) => T + (1 - (r - minRecall) / (1 - minRecall || 1)) * (H - T - B);
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
    "aria-label": `Recall at 10 against latency for ${state.spec} over ${name}` });
  svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
  svg.append(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
  for (const r of [minRecall, (minRecall + 1) / 2, 1]) {
    svg.append(svgEl("text", { x: L - 6, y: y(r) + 4, "text-anchor": "end", class: "tick" }, r.toFixed(2)));
  }
  for (const ms of [0, maxMs / 2, maxMs]) {
    svg.append(svgEl("text", { x: x(ms), y: H - B + 16, "text-anchor": "middle", class: "tick" }, ms.toFixed(2)));
  }
  svg.append(svgEl("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, "mean latency per query (ms)"));
  svg.append(svgEl("text", { x: 12, y: (T + H - B) / 2, transform: `rotate(-90 12 ${(T + H - B) / 2})`, "text-anchor": "middle", class: "label" }, "recall@10"));
  svg.append(svgEl("polyline", { points: points.map((p) => `${x(p.ms)},${y(p.recall)}`).join(" "), class: "curve" }));
  for (const p of points) {
    const dot = svgEl("circle", { cx: x(p.ms), cy: y(p.recall), r: 4, class: "dot" });
    dot.append(svgEl("title", {}, `${name} ${p.value}: recall ${p.recall.toFixed(3)}, ${p.ms.toFixed(3)} ms`));
    svg.append(dot, svgEl("text", { x: x(p.ms) + 6, y: y(p.recall) - 6, class: "tick" }, String(p.value)));
  }
  $("plot").replaceChildren(svg);
  $("plot-caption").textContent = `${state.spec}, ${name} = ${points.map((p) => p.value).join(", ")}: ` +
    points.map((p) => `${p.value} → recall ${p.recall.toFixed(3)} in ${p.ms.toFixed(2)} ms`).join("; ");
}

// ---------------------------------------------------------------- page

function status(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

function fail(error) {
  console.error(error);
  status(`Failed: ${error.message}`, true);
}

async function main() {
  showFamilyFields();
  await init();
  status("Loading the corpus…");
  const [base, queries, texts, metadata, queryTexts] = await Promise.all([
    fetch("data/base.fvecs").then((r) => r.arrayBuffer()).then(parseFvecs),
    fetch("data/query.fvecs").then((r) => r.arrayBuffer()).then(parseFvecs),
    fetchJsonl("data/texts.jsonl"),
    fetchJsonl("data/metadata.jsonl"),
    fetchJsonl("data/query-texts.jsonl"),
  ]);
  Object.assign(state, {
    texts, metadata, queries: queryTexts, queryVectors: queries.data, dim: base.dim, rows: base.rows,
    rawBase: base.data, base: normalizeRows(base.data, base.dim),
  });

  const select = $("example");
  queryTexts.forEach((q, i) => select.append(new Option(`${i}: ${q.text.slice(0, 100)}`, String(i))));
  const counts = new Map();
  for (const m of metadata) counts.set(m.category, (counts.get(m.category) ?? 0) + 1);
  for (const [c, n] of [...counts].sort((a, b) => b[1] - a[1])) $("category").append(new Option(`${c} (${n})`, c));
  exampleQuery(0);

  $("family").addEventListener("change", showFamilyFields);
  $("index-form").addEventListener("submit", (e) => { e.preventDefault(); build(); });
  $("search").addEventListener("click", () => {
    if ($("typed").value.trim()) typedQuery().catch(fail);
    else { exampleQuery(Number(select.value)); runSearch().catch(fail); }
  });
  select.addEventListener("change", () => { $("typed").value = ""; exampleQuery(Number(select.value)); runSearch().catch(fail); });
  $("typed").addEventListener("keydown", (e) => { if (e.key === "Enter") typedQuery().catch(fail); });
  $("category").addEventListener("change", () => runSearch().catch(fail));
  for (const id of ["k", "nprobe", "ef", "rerank"]) $(id).addEventListener("change", () => runSearch().catch(fail));
  $("sweep").addEventListener("click", () => sweep().catch(fail));
  startEmbedder();
  wireDropZone();
  openFiles().catch((error) => filesStatus(`Your files are unavailable: ${error.message}`, true));
  $("build").disabled = false;
  status(`Loaded ${base.rows.toLocaleString("en")} passages (${base.dim} dimensions) · quiver ${version()} · ` +
    `SIMD128 ${simdEnabled() ? "on" : "off"}. Choose an index and build it.`);
  $("clear-storage").addEventListener("click", () => clearStorage().catch(fail));
  $("storage-note").textContent = persistent
    ? "Built stores are saved in IndexedDB and reopened on reload."
    : "Persistence is unavailable: this quiver-vectors build has no IndexedDB adapter (or this browser has no IndexedDB); every load rebuilds.";
  document.body.dataset.ready = "true";
  if (!(persistent && (await openSaved()))) await build();
}

/** Opens the store saved by an earlier visit; false if there is none. */
async function openSaved() {
  const worker = newWorker();
  status("Opening the saved index from IndexedDB…");
  const started = performance.now();
  let store;
  try {
    store = await WorkerVectorStore.open(worker, { name: STORE_NAME });
  } catch (error) {
    if (quiver.isQuiverError(error, "not_found")) return false;
    // A store saved by an incompatible version, or broken storage: say so, then rebuild.
    console.warn("could not open the saved store, rebuilding", error);
    $("storage-note").textContent = `The saved index could not be opened (${error.code ?? error.message}); rebuilt instead.`;
    return false;
  }
  const openMs = performance.now() - started;
  Object.assign(state, { store, spec: store.index });
  selectSpec(store.index);
  await showStats([["Opened from IndexedDB", `${openMs.toFixed(0)} ms`, "open-ms"]]);
  $("progress").value = 1;
  status(`Opened ${store.index} from IndexedDB in ${openMs.toFixed(0)} ms, without rebuilding.`);
  $("clear-storage").disabled = false;
  document.body.dataset.opened = "true";
  document.body.dataset.built = store.index;
  setBusy(false);
  await runSearch();
  return true;
}

/** Sets the index controls to a canonical spec such as "HNSW16" or "IVF32". */
function selectSpec(spec) {
  const match = /^(IVF|HNSW|PQ)(\d+)$/.exec(spec);
  const f = match ? match[1] : spec;
  if ([...$("family").options].some((o) => o.value === f)) $("family").value = f;
  if (match) {
    const field = { IVF: "nlist", HNSW: "hnsw-m", PQ: "pq-m" }[f];
    if (![...$(field).options].some((o) => o.value === match[2])) $(field).append(new Option(match[2]));
    $(field).value = match[2];
  }
  showFamilyFields();
}

/** Deletes the saved index; the one in memory keeps working until the page is reloaded. */
async function clearStorage() {
  await deleteDatabase();
  $("clear-storage").disabled = true;
  $("storage-note").textContent = "Storage cleared: the next reload builds the index again (Build index saves a new one).";
}

main().catch(fail);
