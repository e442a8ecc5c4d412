// Would a Rust BERT in our own wasm beat ONNX Runtime Web? Measured on the kernel that decides it.
//
//   node bench/embed-runtime/run.mjs [--passages 256] [--rounds 5]
//
// all-MiniLM-L6-v2 spends ~97% of its FLOPs in its linear layers (21.2 MFLOP per token; the
// attention products add ~2% at 85 tokens), so the best a Rust runtime could do is bounded by its
// SGEMM speed. In one headless Chromium page (V8, one thread, wasm SIMD128 both), interleaved:
//   1. the shipped embedder (transformers.js → ONNX Runtime Web, fp32) over real passages,
//      end to end: passages/s, and effective GFLOP/s = non-padding tokens × 21.2 MFLOP / s;
//   2. a register-blocked SIMD128 SGEMM written in Rust for this question (gemm/), on the
//      model's two GEMM shapes for a 128-token batch: GFLOP/s of the kernel alone, hence an
//      upper bound on a Rust runtime's passages/s (everything but the GEMMs counted as free).
// Medians of the rounds. The result and its reading are in docs/embedding.md.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openEmbedPage } from "../lib/embed-browser.mjs";
import { median } from "../lib/stats.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const passages = Number(option("passages", 256));
const rounds = Number(option("rounds", 5));
const modelDir = process.env.QUIVER_MODEL_DIR ?? join(process.env.QUIVER_CACHE ?? join(homedir(), ".cache", "quiver"), "all-MiniLM-L6-v2");
const FLOP_PER_TOKEN = 2 * 6 * (4 * 384 * 384 + 2 * 384 * 1536);

const crate = join(root, "bench/embed-runtime/gemm");
execFileSync("cargo", ["build", "--release", "--quiet", "--target", "wasm32-unknown-unknown"], { cwd: crate, env: { ...process.env, RUSTFLAGS: "-C target-feature=+simd128" }, stdio: "inherit" });
const wasm = join(crate, "target/wasm32-unknown-unknown/release/quiver_gemm_probe.wasm");

const texts = readFileSync(join(root, "tests/fixtures/minilm-3k/texts.jsonl"), "utf8").trim().split("\n").slice(0, passages).map((l) => JSON.parse(l).text);
const { createLocalEmbedder } = await import(new URL("pkg/dist/embed.js", `file://${root}`).href);
const counter = await createLocalEmbedder({ modelPath: modelDir, quantized: true });
const tokens = texts.reduce((sum, t) => sum + counter.countTokens(t), 0);
await counter.dispose();

const embedPage = await openEmbedPage(modelDir, { extraFiles: { "gemm.wasm": wasm } });
try {
  await embedPage.page.evaluate(async () => {
    const { instance } = await WebAssembly.instantiateStreaming(fetch("gemm.wasm"));
    const rust = instance.exports;
    window.gemmCase = (m, k, n) => {
      const [a, b, packed, c] = [m * k, k * n, k * n, m * n].map((len) => rust.alloc(len * 4));
      const h = new Float32Array(rust.memory.buffer);
      for (let i = 0; i < m * k; i++) h[a / 4 + i] = Math.sin(i) * 0.1;
      for (let i = 0; i < k * n; i++) h[b / 4 + i] = Math.cos(i) * 0.1;
      rust.pack_b(b, packed, k, n);
      rust.gemm(a, packed, c, m, k, n);
      // A fast wrong kernel must not win: check it against plain dot products.
      for (const [i, j] of [[0, 0], [m - 1, n - 1], [m >> 1, n >> 1]]) {
        let s = 0;
        for (let p = 0; p < k; p++) s += h[a / 4 + i * k + p] * h[b / 4 + p * n + j];
        if (Math.abs(s - h[c / 4 + i * n + j]) > 1e-3 * Math.max(1, Math.abs(s))) throw new Error(`gemm wrong at ${i},${j}`);
      }
      return () => {
        const started = performance.now();
        for (let r = 0; r < 20; r++) rust.gemm(a, packed, c, m, k, n);
        return (2 * m * k * n * 20) / ((performance.now() - started) / 1000) / 1e9;
      };
    };
    window.gemms = { "[128x384]x[384x1536]": window.gemmCase(128, 384, 1536), "[128x1536]x[1536x384]": window.gemmCase(128, 1536, 384) };
    window.runGemms = () => Object.fromEntries(Object.entries(window.gemms).map(([name, run]) => [name, run()]));
  });
  console.log(`${passages} passages (${(tokens / passages).toFixed(1)} tokens each), ${rounds} interleaved rounds after a warm-up, headless Chromium, one thread`);
  await embedPage.embed(texts, { quantized: false });
  await embedPage.page.evaluate(() => window.runGemms());
  const ort = [];
  const gemm = {};
  for (let r = 0; r < rounds; r++) {
    ort.push(passages / (await embedPage.embed(texts, { quantized: false })).seconds);
    for (const [name, value] of Object.entries(await embedPage.page.evaluate(() => window.runGemms()))) (gemm[name] ??= []).push(value);
  }
  const perPassage = (tokens / passages) * FLOP_PER_TOKEN;
  console.log(`transformers.js + ONNX Runtime Web fp32, end to end: ${median(ort).toFixed(1)} passages/s = ${((median(ort) * perPassage) / 1e9).toFixed(1)} GFLOP/s effective`);
  for (const [name, values] of Object.entries(gemm)) console.log(`Rust SIMD128 SGEMM ${name}, kernel only: ${median(values).toFixed(1)} GFLOP/s`);
  const best = Math.max(...Object.values(gemm).map(median));
  console.log(`upper bound for a Rust runtime (its best GEMM rate, all else free): ${((best * 1e9) / perPassage).toFixed(1)} passages/s; ONNX Runtime Web reaches ${((median(ort) * perPassage) / 1e9 / best * 100).toFixed(0)}% of it`);
} finally {
  await embedPage.close();
}
