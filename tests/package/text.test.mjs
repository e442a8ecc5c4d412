// The text-level API (pkg/dist/text.js) over a real VectorStore with a deterministic stand-in
// embedder (words hashed into 64 dimensions), so every rule is checked fast and exactly:
// chunking never drops or truncates text and keeps each passage within its token budget,
// writes are all or nothing (a failed embedding batch adds nothing), the dimension is checked
// before any write, the passage text comes back with each hit. The real model end to end is in
// embed.test.mjs and the demo test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, isQuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { TextStore, chunkText, decodeUtf8, embedderFromFunction, estimateTokens } = await import(new URL("pkg/dist/text.js", `file://${root}`).href);

const DIM = 64;
/** Bag of hashed words: texts sharing words are close, so search results are predictable. */
function hashVector(text) {
  const v = new Float32Array(DIM);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    v[(h >>> 0) % DIM] += 1;
  }
  if (v.every((x) => x === 0)) v[0] = 1;
  return v;
}
/** One token per word plus [CLS] and [SEP]: an exact stand-in tokenizer. */
const countWords = (text) => text.split(/\s+/).filter(Boolean).length + 2;
const calls = [];
const fakeEmbedder = (options = {}) =>
  embedderFromFunction(async (texts) => {
    calls.push(texts.length);
    if (options.failOnBatch !== undefined && calls.length === options.failOnBatch) throw new Error("the embedding service is down");
    return texts.map(hashVector);
  }, { dimension: DIM, batchSize: 4, maxTokens: 256, countTokens: countWords, name: "hash-64" });

const sentence = (i) => `Sentence number ${i} talks about topic${i % 7} and nothing else at all.`;
const longDocument = (n) => Array.from({ length: n }, (_, i) => sentence(i)).join(" ");

test("chunkText keeps every passage within the budget, covers every sentence, and overlaps", async () => {
  const text = longDocument(120);
  const passages = await chunkText(text, { chunkTokens: 60, overlapTokens: 15, countTokens: countWords });
  assert.ok(passages.length > 5);
  for (const p of passages) assert.ok(countWords(p) <= 60, `passage of ${countWords(p)} tokens`);
  for (let i = 0; i < 120; i++) assert.ok(passages.some((p) => p.includes(sentence(i))), `sentence ${i} kept whole in some passage`);
  // Overlap: each passage after the first starts with the last sentence of the one before.
  for (let i = 1; i < passages.length; i++) {
    const lastOfPrevious = passages[i - 1].match(/Sentence number \d+[^.]*\.$/)[0];
    assert.ok(passages[i].startsWith(lastOfPrevious), `passage ${i} overlaps the previous one`);
  }
  assert.deepEqual(await chunkText("   \n\n  "), []);
});

test("chunkText splits a sentence or a single word over the budget instead of truncating it", async () => {
  const runOn = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");
  const passages = await chunkText(runOn, { chunkTokens: 50, overlapTokens: 0, countTokens: countWords });
  assert.deepEqual(passages.join(" ").split(" "), runOn.split(" "), "no word lost or repeated");
  const blob = "x".repeat(5000);
  const charCount = (t) => Math.ceil(t.length / 100) + 2;
  const pieces = await chunkText(`before ${blob} after`, { chunkTokens: 20, overlapTokens: 0, countTokens: charCount });
  assert.equal(pieces.join("").replace(/ /g, ""), `before${blob}after`);
  for (const p of pieces) assert.ok(charCount(p) <= 20);
  await assert.rejects(chunkText("a", { chunkTokens: 10, overlapTokens: 6 }), (e) => isQuiverError(e, "invalid_argument"));
  assert.ok(estimateTokens("one two three") >= 5);
});

test("addDocuments chunks, embeds and stores passages with their text; searchText returns them", async () => {
  const store = await VectorStore.create({ dimension: DIM });
  const texts = new TextStore(store, fakeEmbedder());
  const phases = new Set();
  const ids = await texts.addDocuments(
    [
      { id: "long", text: longDocument(80), metadata: { lang: "en", kind: "long" } },
      { id: "fruit", text: "Bananas and apples are fruit. Oranges too.", metadata: { lang: "en", kind: "short" } },
    ],
    { chunkTokens: 64, onProgress: (p) => phases.add(p.phase) },
  );
  assert.deepEqual([...phases], ["chunk", "embed", "add"]);
  assert.ok(ids.length > 3 && ids.includes("long#0") && ids.at(-1) === "fruit#0");
  assert.equal((await store.stats()).count, ids.length);
  const [hit] = await texts.searchText("apples and bananas", { k: 1 });
  assert.equal(hit.id, "fruit#0");
  assert.equal(hit.text, "Bananas and apples are fruit. Oranges too.");
  assert.equal(hit.documentId, "fruit");
  assert.equal(hit.chunk, 0);
  assert.deepEqual(hit.metadata, { lang: "en", kind: "short" });
  const filtered = await texts.searchText("apples and bananas", { k: 3, filter: { kind: "long" } });
  assert.ok(filtered.length === 3 && filtered.every((h) => h.documentId === "long"));
  assert.equal(await texts.deleteDocuments(["long"]), ids.length - 1);
  assert.equal((await store.stats()).count, 1);
  await assert.rejects(texts.deleteDocuments(["fruit", "never-added"]), (e) => isQuiverError(e, "not_found"));
  assert.equal((await store.stats()).count, 1, "a failed delete deletes nothing");
  const generated = await texts.addTexts(["Plain text one.", "Plain text two."], { metadatas: [{ n: 1 }, { n: 2 }] });
  assert.equal(generated.length, 2);
  assert.match(generated[0], /^[0-9a-f-]{36}#0$/);
});

test("a failed embedding batch, a cancel or a bad document adds nothing", async () => {
  const store = await VectorStore.create({ dimension: DIM });
  await store.add([{ id: "kept", vector: hashVector("kept") }]);
  calls.length = 0;
  const failing = new TextStore(store, fakeEmbedder({ failOnBatch: 3 }));
  const docs = Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, text: sentence(i) }));
  await assert.rejects(failing.addDocuments(docs), /the embedding service is down/);
  assert.equal((await store.stats()).count, 1, "nothing of the failed call is stored");
  const texts = new TextStore(store, fakeEmbedder());
  const controller = new AbortController();
  await assert.rejects(texts.addDocuments(docs, { signal: controller.signal, onProgress: (p) => p.phase === "embed" && controller.abort() }), (e) => e.name === "AbortError");
  assert.equal((await store.stats()).count, 1);
  const code = (c) => (e) => isQuiverError(e, c);
  await assert.rejects(texts.addDocuments([{ id: "a", text: "fine" }, { id: "b", text: "  " }]), code("invalid_argument"));
  await assert.rejects(texts.addDocuments([{ id: "a", text: "fine" }, { id: "a", text: "again" }]), code("duplicate_id"));
  await assert.rejects(texts.addDocuments([{ id: "a", text: 7 }]), code("invalid_argument"));
  await assert.rejects(texts.addDocuments([{ id: "a", text: "x", metadata: { text: "mine" } }]), code("invalid_metadata"));
  await assert.rejects(texts.addDocuments([{ id: "kept", text: "collides with a stored passage id? no: kept#0" }, { id: "", text: "x" }]), code("invalid_id"));
  await assert.rejects(texts.searchText("   "), code("invalid_argument"));
  assert.equal((await store.stats()).count, 1);
});

test("an embedder whose dimension disagrees with the store fails before any write", async () => {
  const store = await VectorStore.create({ dimension: 32 });
  assert.throws(() => new TextStore(store, fakeEmbedder()), (e) => isQuiverError(e, "dimension_mismatch") && /64-d/.test(e.message));
  // An embedder that declares 32 but returns 64 (a misconfigured remote model).
  const liar = embedderFromFunction(async (texts) => texts.map(hashVector), { dimension: 32 });
  await assert.rejects(new TextStore(store, liar).addTexts(["hello"]), (e) => isQuiverError(e, "dimension_mismatch"));
  const nan = embedderFromFunction(async (texts) => texts.map(() => new Array(32).fill(NaN)), { dimension: 32 });
  await assert.rejects(new TextStore(store, nan).addTexts(["hello"]), (e) => isQuiverError(e, "invalid_vector"));
  const short = embedderFromFunction(async () => [], { dimension: 32 });
  await assert.rejects(short.embed(["a"]), (e) => isQuiverError(e, "invalid_vector"));
  assert.equal((await store.stats()).count, 0);
  assert.throws(() => embedderFromFunction(async () => [], { dimension: 0 }), (e) => isQuiverError(e, "invalid_dimension"));
});

test("decodeUtf8 accepts UTF-8 (dropping a BOM) and names the file and offset of bytes that are not", () => {
  assert.equal(decodeUtf8(new TextEncoder().encode("\ufeffcafé ☕")), "café ☕");
  const bad = new Uint8Array([0x68, 0x69, 0x20, 0xff, 0x21]);
  assert.throws(() => decodeUtf8(bad, "notes.txt"), (e) => isQuiverError(e, "invalid_argument") && /notes\.txt/.test(e.message) && /offset 3/.test(e.message));
});
