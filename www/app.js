// The Quiver demo: loads the embedded corpus (3,000 passages with precomputed all-MiniLM-L6-v2
// embeddings), indexes it in WebAssembly, and answers example queries with live latency.
import { init, Collection, simdEnabled, version } from "quiver-vectors";

const $ = (id) => document.getElementById(id);
const state = { collection: null, texts: [], metadata: [], queries: [], queryVectors: null, dim: 0 };

function parseFvecs(buffer) {
  const view = new DataView(buffer);
  const dim = view.getInt32(0, true);
  const rows = buffer.byteLength / (4 * (dim + 1));
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    data.set(new Float32Array(buffer, 4 * (r * (dim + 1) + 1), dim), r * dim);
  }
  return { dim, rows, data };
}

async function fetchJsonl(url) {
  const text = await (await fetch(url)).text();
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

function status(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

function render(hits, elapsedMs, label) {
  $("query-text").textContent = label;
  $("stats").textContent = `${hits.length} results in ${elapsedMs.toFixed(2)} ms (exact search over ${state.collection.length} vectors)`;
  const list = $("results");
  list.replaceChildren();
  for (const hit of hits) {
    const row = Number(hit.id);
    const item = document.createElement("li");
    item.dataset.id = hit.id;
    const meta = document.createElement("div");
    meta.className = "meta";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(4);
    const title = document.createElement("span");
    title.textContent = `${state.metadata[row]?.title ?? ""} · ${hit.metadata?.category ?? ""}`;
    const more = document.createElement("button");
    more.className = "link";
    more.textContent = "more like this";
    more.addEventListener("click", () => moreLikeThis(hit.id));
    meta.append(score, title, more);
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = state.texts[row]?.text ?? "";
    item.append(meta, text);
    list.append(item);
  }
}

function k() {
  return Math.max(1, Math.min(100, Number($("k").value) || 10));
}

function searchExample() {
  const q = Number($("example").value);
  const vector = state.queryVectors.subarray(q * state.dim, (q + 1) * state.dim);
  const started = performance.now();
  const hits = state.collection.search(vector, k());
  render(hits, performance.now() - started, `“${state.queries[q].text.slice(0, 200)}…”`);
}

function moreLikeThis(id) {
  const { vector } = state.collection.get(id);
  const started = performance.now();
  const hits = state.collection.search(vector, k() + 1).filter((h) => h.id !== id);
  render(hits, performance.now() - started, `More like passage #${id}: “${state.texts[Number(id)].text.slice(0, 160)}…”`);
}

async function main() {
  await init();
  status("Loading the corpus…");
  const [base, queries, texts, metadata, queryTexts] = await Promise.all([
    fetch("data/base.fvecs").then((r) => r.arrayBuffer()).then(parseFvecs),
    fetch("data/query.fvecs").then((r) => r.arrayBuffer()).then(parseFvecs),
    fetchJsonl("data/texts.jsonl"),
    fetchJsonl("data/metadata.jsonl"),
    fetchJsonl("data/query-texts.jsonl"),
  ]);
  Object.assign(state, { texts, metadata, queries: queryTexts, queryVectors: queries.data, dim: base.dim });

  const started = performance.now();
  const collection = new Collection(base.dim, "cosine", "Flat");
  const ids = Array.from({ length: base.rows }, (_, i) => String(i));
  const meta = metadata.map((m) => ({ category: m.category, year: m.year }));
  collection.add(ids, base.data, JSON.stringify(meta));
  state.collection = collection;
  const buildMs = performance.now() - started;

  const select = $("example");
  queryTexts.forEach((q, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = q.text.slice(0, 110);
    select.append(option);
  });
  select.disabled = false;
  $("search").disabled = false;
  $("search").addEventListener("click", searchExample);
  select.addEventListener("change", searchExample);
  const mib = (collection.memoryBytes() / 2 ** 20).toFixed(1);
  status(`Indexed ${collection.length} passages in ${buildMs.toFixed(0)} ms · ${mib} MiB · ` +
    `SIMD128 ${simdEnabled() ? "on" : "off"} · quiver ${version()}`);
  document.body.dataset.ready = "true";
  searchExample();
}

main().catch((error) => {
  console.error(error);
  status(`Failed: ${error.message}`, true);
});
