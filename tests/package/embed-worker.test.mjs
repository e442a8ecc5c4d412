// quiver-vectors/embed-worker over a MessageChannel (the same protocol a Web Worker carries):
// embedding, token counting, progress, cancellation, the load error of a model that is missing,
// and a TextStore driven through the worker embedder. The browser run is the demo test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, isQuiverError, QuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { serveEmbedder, WorkerEmbedder } = await import(new URL("pkg/dist/embed-worker.js", `file://${root}`).href);
const { TextStore, embedderFromFunction } = await import(new URL("pkg/dist/text.js", `file://${root}`).href);

const DIM = 8;
const slowEmbedder = () => embedderFromFunction(async (texts) => {
  await new Promise((r) => setTimeout(r, 5));
  return texts.map((t) => Float32Array.from({ length: DIM }, (_, d) => (t.length % (d + 2)) + 1));
}, { dimension: DIM, batchSize: 2, maxTokens: 64, countTokens: (t) => t.split(" ").length + 2, name: "fake" });

function pair(embedder) {
  const { port1, port2 } = new MessageChannel();
  serveEmbedder(embedder, port1);
  return { client: WorkerEmbedder.connect(port2), close: () => { port1.close(); port2.close(); } };
}

test("a WorkerEmbedder embeds, counts tokens and reports progress through the channel", async () => {
  const { client, close } = pair(slowEmbedder());
  const embedder = await client;
  assert.equal(embedder.dimension, DIM);
  assert.equal(embedder.maxTokens, 64);
  assert.equal(embedder.name, "fake");
  assert.equal(await embedder.countTokens("one two three"), 5);
  const progress = [];
  const vectors = await embedder.embed(["a", "bb", "ccc", "dddd", "eeeee"], { onProgress: (p) => progress.push(p.done) });
  assert.equal(vectors.length, 5);
  assert.ok(vectors.every((v) => v instanceof Float32Array && v.length === DIM));
  assert.deepEqual(Array.from(vectors[2]), Array.from((await slowEmbedder().embed(["ccc"]))[0]));
  assert.deepEqual(progress, [2, 4, 5]);
  await assert.rejects(embedder.embed(["ok", " "]), (e) => e instanceof QuiverError && e.code === "invalid_argument");
  const controller = new AbortController();
  const reason = new Error("user left");
  const pending = embedder.embed(Array.from({ length: 40 }, (_, i) => `t${i}`), { signal: controller.signal, onProgress: () => controller.abort(reason) });
  await assert.rejects(pending, (e) => e === reason);
  close();
});

test("a model that fails to load rejects connect with its typed error", async () => {
  const { client, close } = pair(Promise.reject(new QuiverError("model_missing", "the embedding model file /m/config.json is missing")));
  await assert.rejects(client, (e) => isQuiverError(e, "model_missing") && /config\.json/.test(e.message));
  close();
});

test("TextStore works over a WorkerEmbedder (token counts cross the channel)", async () => {
  const { client, close } = pair(slowEmbedder());
  const embedder = await client;
  const texts = new TextStore(await VectorStore.create({ dimension: DIM }), embedder);
  const ids = await texts.addDocuments([{ id: "doc", text: "word ".repeat(200) }], { chunkTokens: 40, overlapTokens: 4 });
  assert.ok(ids.length >= 5, `${ids.length} passages`);
  const hits = await texts.searchText("word word", { k: 2 });
  assert.equal(hits.length, 2);
  assert.equal(hits[0].documentId, "doc");
  close();
});
