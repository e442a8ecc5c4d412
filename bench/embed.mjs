// Embedding throughput of the local model (quiver-vectors/embed: all-MiniLM-L6-v2 through
// transformers.js), in Node (ONNX Runtime native, CPU) and headless Chromium (ONNX Runtime Web,
// wasm SIMD, one thread), fp32 and int8: passages/s over real passages, median of several rounds.
//
//   node bench/embed.mjs [--passages 256] [--rounds 3] [--data DIR] [--only node|chromium]
//
// Passages are the first N of the data set's texts.jsonl (default ../shared/data/dev-minilm-20k,
// else the committed tests/fixtures/minilm-3k). Needs pkg/ (scripts/build-pkg.sh) and the model
// (scripts/fetch-model.sh). The first round of each configuration is a warm-up and not counted.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./lib/stats.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const passages = Number(option("passages", 256));
const rounds = Number(option("rounds", 3));
const only = option("only", "");
const shared = join(root, "../shared/data/dev-minilm-20k");
const dataDir = option("data", existsSync(join(shared, "texts.jsonl")) ? shared : join(root, "tests/fixtures/minilm-3k"));
const modelDir = process.env.QUIVER_MODEL_DIR ?? join(process.env.QUIVER_CACHE ?? join(homedir(), ".cache", "quiver"), "all-MiniLM-L6-v2");
if (!existsSync(join(modelDir, ".verified"))) {
  console.error(`no model in ${modelDir}: run bash scripts/fetch-model.sh`);
  process.exit(1);
}

const texts = readFileSync(join(dataDir, "texts.jsonl"), "utf8").trim().split("\n").slice(0, passages).map((l) => JSON.parse(l).text);
const { createLocalEmbedder } = await import(new URL("pkg/dist/embed.js", `file://${root}`).href);
const counter = await createLocalEmbedder({ modelPath: modelDir, quantized: true });
const tokens = texts.reduce((sum, t) => sum + counter.countTokens(t), 0);
console.log(`${texts.length} passages from ${dataDir} (${(tokens / texts.length).toFixed(1)} tokens each on average), ${rounds} rounds after a warm-up`);

const rows = [];
async function measure(runtime, label, embedOnce) {
  await embedOnce(); // warm-up: first-run compilation and allocation
  const rates = [];
  for (let r = 0; r < rounds; r++) rates.push(texts.length / (await embedOnce()));
  rows.push({ runtime, model: label, rates });
  console.log(`${runtime.padEnd(9)} ${label.padEnd(5)} median ${median(rates).toFixed(1).padStart(6)} passages/s  (rounds: ${rates.map((x) => x.toFixed(1)).join(", ")})`);
}

if (only !== "chromium") {
  for (const quantized of [false, true]) {
    const embedder = await createLocalEmbedder({ modelPath: modelDir, quantized });
    await measure("node", quantized ? "int8" : "fp32", async () => {
      const started = performance.now();
      await embedder.embed(texts);
      return (performance.now() - started) / 1000;
    });
    await embedder.dispose();
  }
}
if (only !== "node") {
  const { openEmbedPage } = await import("./lib/embed-browser.mjs");
  const page = await openEmbedPage(modelDir);
  try {
    for (const quantized of [false, true]) {
      await measure("chromium", quantized ? "int8" : "fp32", async () => (await page.embed(texts, { quantized })).seconds);
    }
  } finally {
    await page.close();
  }
}
await counter.dispose();
