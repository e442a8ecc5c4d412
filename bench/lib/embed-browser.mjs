// The local embedder (pkg/dist/embed.js) in headless Chromium, for the embedding test and
// benchmark: bundles a one-line page entry with esbuild (transformers.js has bare imports),
// serves it next to the model folder and ONNX Runtime's wasm (symlinked, not copied), and
// exposes embed(texts, { quantized }) → { vectors: Float32Array[], seconds } measured in the page.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "../../scripts/serve.mjs";
import { chromiumArgs, executablePath } from "./chromium.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** `extraFiles`: name → path of more files to serve beside the page (symlinked). */
export async function openEmbedPage(modelDir, { extraFiles = {} } = {}) {
  const { chromium } = await import("playwright-core");
  const dir = mkdtempSync(join(tmpdir(), "quiver-embed-page-"));
  writeFileSync(join(dir, "entry.js"), `import { createLocalEmbedder } from ${JSON.stringify(join(root, "pkg/dist/embed.js"))};
const embedders = {};
window.embedTexts = async (texts, quantized) => {
  embedders[quantized] ??= await createLocalEmbedder({ modelPath: new URL("model", location.href).href, wasmPaths: new URL("ort/", location.href).href, quantized });
  const started = performance.now();
  const vectors = await embedders[quantized].embed(texts);
  const seconds = (performance.now() - started) / 1000;
  const flat = new Float32Array(vectors.length * 384);
  vectors.forEach((v, i) => flat.set(v, i * 384));
  return { flat: Array.from(flat), seconds };
};`);
  execFileSync(join(root, "node_modules/.bin/esbuild"), [join(dir, "entry.js"), "--bundle", "--format=esm", "--platform=browser", "--log-level=warning", `--outfile=${join(dir, "bundle.js")}`]);
  writeFileSync(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="bundle.js"></script>`);
  symlinkSync(modelDir, join(dir, "model"));
  symlinkSync(join(root, "node_modules/onnxruntime-web/dist"), join(dir, "ort"));
  for (const [name, path] of Object.entries(extraFiles)) symlinkSync(path, join(dir, name));
  const { server, url } = await serve(dir, 0);
  const profile = mkdtempSync(join(tmpdir(), "quiver-embed-profile-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: chromiumArgs });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.embedTexts === "function");
  return {
    page,
    errors,
    async embed(texts, { quantized }) {
      const { flat, seconds } = await page.evaluate(([t, q]) => window.embedTexts(t, q), [texts, quantized]);
      const all = Float32Array.from(flat);
      return { vectors: Array.from({ length: texts.length }, (_, i) => all.subarray(i * 384, (i + 1) * 384)), seconds };
    },
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
