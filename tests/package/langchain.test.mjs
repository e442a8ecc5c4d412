// quiver-vectors/langchain against the real @langchain/core package: QuiverVectorStore through
// LangChain's own base-class methods (fromTexts, fromDocuments, addDocuments, addVectors,
// similaritySearch / similaritySearchWithScore with filters, delete, asRetriever().invoke),
// and QuiverEmbeddings wrapping the local model for a real retrieval. @langchain/core publishes
// no standard vector-store test suite (it lives in @langchain/standard-tests, which the npm
// registry here does not carry), so the contract checks are written out below.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Document } from "@langchain/core/documents";
import { Embeddings } from "@langchain/core/embeddings";
import { VectorStore as LangChainVectorStore } from "@langchain/core/vectorstores";

const root = fileURLToPath(new URL("../../", import.meta.url));
const { VectorStore, isQuiverError } = await import(new URL("pkg/dist/node.js", `file://${root}`).href);
const { QuiverVectorStore, QuiverEmbeddings } = await import(new URL("pkg/dist/langchain.js", `file://${root}`).href);

/** Deterministic embeddings: words hashed into 32 dimensions. */
class HashEmbeddings extends Embeddings {
  constructor() { super({}); }
  vector(text) {
    const v = new Array(32).fill(0);
    for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let h = 2166136261;
      for (const ch of w) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
      v[(h >>> 0) % 32] += 1;
    }
    if (v.every((x) => x === 0)) v[0] = 1;
    return v;
  }
  async embedDocuments(texts) { return texts.map((t) => this.vector(t)); }
  async embedQuery(text) { return this.vector(text); }
}
const create = (dimension) => VectorStore.create({ dimension });

test("QuiverVectorStore is a LangChain VectorStore: fromTexts, search with scores and filters, retriever", async () => {
  const embeddings = new HashEmbeddings();
  const vs = await QuiverVectorStore.fromTexts(
    ["apples and pears are fruit", "rust borrow checker rules", "tokio runtime tasks and wakers"],
    [{ topic: "food" }, { topic: "rust" }, { topic: "rust" }],
    embeddings,
    { create },
  );
  assert.ok(vs instanceof LangChainVectorStore);
  assert.equal(vs._vectorstoreType(), "quiver");
  const [[best, score]] = await vs.similaritySearchWithScore("pears and apples", 1);
  assert.equal(best.pageContent, "apples and pears are fruit");
  assert.deepEqual(best.metadata, { topic: "food" });
  assert.equal(typeof best.id, "string");
  assert.ok(score > 0.5 && score <= 1.0001, `cosine similarity, got ${score}`);
  const rustOnly = await vs.similaritySearch("pears and apples", 3, { topic: "rust" });
  assert.equal(rustOnly.length, 2);
  assert.ok(rustOnly.every((d) => d.metadata.topic === "rust"));
  const retrieved = await vs.asRetriever({ k: 1, filter: { topic: "rust" } }).invoke("tokio tasks");
  assert.equal(retrieved[0].pageContent, "tokio runtime tasks and wakers");
});

test("addDocuments keeps document ids, addVectors stores given vectors, delete removes by id, all or nothing", async () => {
  const embeddings = new HashEmbeddings();
  const store = await VectorStore.create({ dimension: 32 });
  const vs = new QuiverVectorStore(embeddings, { store });
  const ids = await vs.addDocuments([new Document({ pageContent: "first doc", metadata: { n: 1 }, id: "doc-1" }), new Document({ pageContent: "second doc", metadata: { n: 2 } })]);
  assert.equal(ids[0], "doc-1");
  assert.match(ids[1], /^[0-9a-f-]{36}$/);
  const byOption = await vs.addVectors([embeddings.vector("third doc")], [new Document({ pageContent: "third doc", metadata: {} })], { ids: ["doc-3"] });
  assert.deepEqual(byOption, ["doc-3"]);
  assert.equal((await store.stats()).count, 3);
  const [top] = await vs.similaritySearchVectorWithScore(embeddings.vector("third doc"), 1);
  assert.equal(top[0].id, "doc-3");
  await assert.rejects(vs.addDocuments([new Document({ pageContent: "dup", metadata: {}, id: "doc-1" })]), (e) => isQuiverError(e, "duplicate_id"));
  await assert.rejects(vs.addDocuments([new Document({ pageContent: "x", metadata: { pageContent: "clash" } })]), (e) => isQuiverError(e, "invalid_metadata"));
  await assert.rejects(vs.addVectors([[1, 2, 3]], [new Document({ pageContent: "wrong dimension", metadata: {} })]), (e) => isQuiverError(e, "dimension_mismatch"));
  await assert.rejects(vs.delete({ ids: ["doc-1", "missing"] }), (e) => isQuiverError(e, "not_found"));
  assert.equal((await store.stats()).count, 3, "failed calls changed nothing");
  await vs.delete({ ids: ["doc-1"] });
  assert.equal((await store.stats()).count, 2);
  await assert.rejects(vs.delete({ filter: { n: 2 } }), (e) => isQuiverError(e, "invalid_argument"));
  assert.throws(() => new QuiverVectorStore(embeddings, {}), (e) => isQuiverError(e, "invalid_argument"));
  const empty = new QuiverVectorStore(embeddings, { create });
  assert.deepEqual(await empty.similaritySearch("anything", 3), []);
});

const modelDir = process.env.QUIVER_MODEL_DIR ?? join(process.env.QUIVER_CACHE ?? join(homedir(), ".cache", "quiver"), "all-MiniLM-L6-v2");
const modelSkip = existsSync(join(modelDir, ".verified")) ? false : `no model in ${modelDir}: run bash scripts/fetch-model.sh`;

test("a LangChain retriever over the local model finds the passage a paraphrased question asks about", { skip: modelSkip, timeout: 300_000 }, async () => {
  const { createLocalEmbedder } = await import(new URL("pkg/dist/embed.js", `file://${root}`).href);
  const embedder = await createLocalEmbedder({ modelPath: modelDir, quantized: true });
  const rows = readFileSync(join(root, "tests/fixtures/minilm-3k/texts.jsonl"), "utf8").trim().split("\n").slice(0, 300).map((l) => JSON.parse(l));
  const docs = rows.map((r) => new Document({ pageContent: r.text, metadata: { source: r.source }, id: `p${r.id}` }));
  const vs = await QuiverVectorStore.fromDocuments(docs, new QuiverEmbeddings(embedder), { create });
  // Questions written for this test, not taken from the data set.
  const questions = [
    ["which compilation targets does the Rust project promise will definitely work?", "p1"],
    ["how does a program read an environment variable to decide on case-insensitive search", "p5"],
    ["choosing how strongly files are compressed when writing a zip archive", "p99"],
  ];
  for (const [question, expected] of questions) {
    const found = await vs.asRetriever({ k: 10 }).invoke(question);
    assert.ok(found.some((d) => d.id === expected), `${expected} in the top 10 for ${JSON.stringify(question)}: got ${found.map((d) => d.id).join(", ")}`);
  }
  await embedder.dispose();
});
