// Package size: what a web app downloads from quiver-vectors, raw and gzipped, and what
// dominates the .wasm. Run after `bash scripts/build-pkg.sh`:
//
//   node bench/package-size.mjs            # Markdown tables on stdout
//   node bench/package-size.mjs --json     # one JSON object
//
// tests/package/size.test.mjs imports measure() and holds the total to the 120 KB budget.
//
// - shipped: pkg/wasm/quiver_bg.wasm, the wasm-bindgen glue and pkg/dist/*.js as published
//   (unminified, with comments);
// - bundled: what an app's bundler ships for the browser entry, approximated by esbuild
//   (bundle + minify) of pkg/dist/browser.js, plus the .wasm;
// - the .wasm broken down by Rust crate: the release build is run through wasm-bindgen and
//   wasm-opt again keeping function names (`-g`), and each function body is attributed to the
//   crate its mangled name starts with (generic code is counted where it was instantiated from).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("../", import.meta.url));
const pkg = join(root, "pkg");
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

export async function measure({ withBreakdown = true } = {}) {
  const wasm = readFileSync(join(pkg, "wasm/quiver_bg.wasm"));
  const fullWasm = readFileSync(join(pkg, "wasm/full/quiver_bg.wasm"));
  const jsFiles = [join(pkg, "wasm/quiver.js"), ...readdirSync(join(pkg, "dist"), { recursive: true })
    .map(String).filter((f) => f.endsWith(".js")).map((f) => join(pkg, "dist", f))];
  const shippedJs = Buffer.concat(jsFiles.map((f) => readFileSync(f)));

  const esbuild = await import("esbuild");
  const scratch = mkdtempSync(join(tmpdir(), "quiver-bundle-"));
  // An app's bundler splits dynamic imports into chunks of their own (as Vite does): what a page
  // loads up front is the entry chunk and the chunks it imports statically; the full build's
  // glue is a chunk fetched only when a store needs the full build.
  const bundle = async (entry) => {
    const out = await esbuild.build({
      entryPoints: [entry], bundle: true, minify: true, format: "esm", splitting: true, outdir: scratch,
      write: false, logLevel: "silent", platform: "browser", metafile: true,
    });
    const byPath = new Map(out.outputFiles.map((f) => [f.path, Buffer.from(f.contents)]));
    const outputs = out.metafile.outputs;
    const key = (path) => join(process.cwd(), path);
    const entryOut = Object.keys(outputs).find((o) => outputs[o].entryPoint);
    const upFront = new Set();
    const visit = (o) => {
      if (upFront.has(o)) return;
      upFront.add(o);
      for (const i of outputs[o].imports) if (i.kind === "import-statement" && outputs[i.path]) visit(i.path);
    };
    visit(entryOut);
    const pick = (keep) => Buffer.concat(Object.keys(outputs).filter((o) => o.endsWith(".js") && keep(upFront.has(o))).map((o) => byPath.get(key(o))));
    return { upFront: pick((u) => u), onDemand: pick((u) => !u) };
  };
  // A typical app: a store persisted in IndexedDB, nothing else imported (tree-shaken).
  const app = join(scratch, "app.mjs");
  writeFileSync(app, `import { VectorStore, IndexedDBStorage } from ${JSON.stringify(join(pkg, "dist/browser.js"))};
const store = await VectorStore.create({ dimension: 384, storage: new IndexedDBStorage() });
console.log(await store.search({ vector: new Float32Array(384), k: 10 }));
`);
  try {
    const browser = await bundle(join(pkg, "dist/browser.js"));
    const worker = await bundle(join(pkg, "dist/worker.js"));
    const typical = await bundle(app);
    const sizes = (bytes) => ({ raw: bytes.length, gzip: gz(bytes) });
    return {
      wasm: sizes(wasm),
      fullWasm: sizes(fullWasm),
      shippedJs: { files: jsFiles.length, ...sizes(shippedJs) },
      bundledBrowserJs: sizes(browser.upFront),
      fullBuildJs: sizes(browser.onDemand),
      bundledWorkerJs: sizes(worker.upFront),
      typicalAppJs: sizes(typical.upFront),
      totalGzip: gz(wasm) + gz(browser.upFront),
      breakdown: withBreakdown ? breakdown() : undefined,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Reads a LEB128 u32 at `at`; returns [value, next]. */
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value |= (b & 0x7f) << shift;
    if (!(b & 0x80)) return [value >>> 0, at];
    shift += 7;
  }
}

/** Sizes of the sections, function bodies and function names of a wasm module. */
function parseWasm(bytes) {
  const sections = [];
  let imports = 0;
  let bodies = [];
  const names = new Map();
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    let size;
    [size, at] = leb(bytes, at + 1);
    const end = at + size;
    let name = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount"][id];
    if (id === 0) {
      let len;
      [len, at] = leb(bytes, at);
      name = bytes.subarray(at, at + len).toString();
      if (name === "name") {
        let p = at + len;
        while (p < end) {
          const sub = bytes[p];
          let subSize;
          [subSize, p] = leb(bytes, p + 1);
          if (sub === 1) {
            let count;
            let q;
            [count, q] = leb(bytes, p);
            for (let i = 0; i < count; i++) {
              let index, nameLen;
              [index, q] = leb(bytes, q);
              [nameLen, q] = leb(bytes, q);
              names.set(index, bytes.subarray(q, q + nameLen).toString());
              q += nameLen;
            }
          }
          p += subSize;
        }
      }
    } else if (id === 2) {
      let count, q;
      [count, q] = leb(bytes, at);
      for (let i = 0; i < count; i++) {
        let len;
        [len, q] = leb(bytes, q); q += len; // module
        [len, q] = leb(bytes, q); q += len; // field
        const kind = bytes[q++];
        if (kind === 0) { imports++; [, q] = leb(bytes, q); }
        else if (kind === 1) { q++; const flags = bytes[q++]; [, q] = leb(bytes, q); if (flags & 1) [, q] = leb(bytes, q); }
        else if (kind === 2) { const flags = bytes[q++]; [, q] = leb(bytes, q); if (flags & 1) [, q] = leb(bytes, q); }
        else if (kind === 3) { q += 2; }
      }
    } else if (id === 10) {
      let count, q;
      [count, q] = leb(bytes, at);
      for (let i = 0; i < count; i++) {
        let len;
        [len, q] = leb(bytes, q);
        bodies.push({ index: imports + i, size: len, bytes: bytes.subarray(q, q + len) });
        q += len;
      }
    }
    sections.push({ name, size });
    at = end;
  }
  bodies = bodies.map((b) => ({ ...b, name: names.get(b.index) ?? `func${b.index}` }));
  return { sections, bodies };
}

/** The crate a function belongs to, from its (demangled) name: `core[hash]::num::…` → core. */
function crateOf(name) {
  if (/^(__wbg|__wbindgen|__externref|wasm_bindgen)/.test(name)) return "wasm_bindgen";
  if (/^(collection_|simdenabled|version|errorcodes|dot|l2squared)/i.test(name)) return "quiver (exported shims)";
  if (/^(memcpy|memset|memmove|memcmp|bcmp)$/.test(name)) return "compiler_builtins";
  // `<f64 as core::fmt::Display>::fmt`: a primitive's impl belongs to the trait's crate.
  const primitive = name.match(/^<&?(?:mut )?(?:[iuf](?:8|16|32|64|size)|char|str|bool|T|\[T\]) as ([^>]+)>/);
  if (primitive) return crateOf(primitive[1]);
  // `<Type as Trait>::f`, `<&mut Type as …>`: attribute to the type's path.
  const n = name.replace(/^<+/, "").replace(/^(&mut |&|dyn |\*const |\*mut )+/, "");
  const path = n.match(/^([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::/);
  return path ? path[1] : `(${name.slice(0, 40)})`;
}

function breakdown() {
  // QUIVER_SIZE_WASM: break down another raw build (e.g. one from bench/build-compare.sh).
  const release = process.env.QUIVER_SIZE_WASM ?? join(root, "target/pkg/wasm32-unknown-unknown/release/quiver-lean.wasm");
  if (!existsSync(release)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "quiver-size-"));
  try {
    execFileSync("wasm-bindgen", ["--target", "web", "--keep-debug", "--out-dir", dir, "--out-name", "quiver", release]);
    const features = ["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue", "--enable-simd"];
    execFileSync(join(root, "node_modules/.bin/wasm-opt"), ["-O3", "-g", ...features, join(dir, "quiver_bg.wasm"), "-o", join(dir, "named.wasm")]);
    const { sections, bodies } = parseWasm(readFileSync(join(dir, "named.wasm")));
    // QUIVER_SIZE_FUNCTIONS=file.json: every function's size, for diffing two builds with
    // bench/size-diff.mjs (hashes stripped so the same function matches across builds).
    if (process.env.QUIVER_SIZE_FUNCTIONS) {
      const rows = bodies.map(({ name, size }) => ({ name: name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]+\]/g, ""), size }));
      writeFileSync(process.env.QUIVER_SIZE_FUNCTIONS, JSON.stringify(rows));
    }
    const byCrate = new Map();
    for (const body of bodies) {
      const crate = crateOf(body.name);
      const entry = byCrate.get(crate) ?? { crate, functions: 0, bytes: 0, parts: [] };
      entry.functions++;
      entry.bytes += body.size;
      entry.parts.push(body.bytes);
      byCrate.set(crate, entry);
    }
    const crates = [...byCrate.values()]
      .map(({ parts, ...e }) => ({ ...e, gzip: gz(Buffer.concat(parts)) }))
      .sort((a, b) => b.bytes - a.bytes);
    const largest = [...bodies].sort((a, b) => b.size - a.size).slice(0, 12).map(({ name, size }) => ({ name, size }));
    const section = (n) => sections.filter((s) => s.name === n).reduce((sum, s) => sum + s.size, 0);
    return { code: section("code"), data: section("data"), crates, largest };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(m) {
  const lines = [
    "| what | raw | gzip -9 |",
    "| --- | ---: | ---: |",
    `| \`wasm/quiver_bg.wasm\`, the lean build (Flat, HNSW; SIMD128, wasm-opt -O3) | ${kb(m.wasm.raw)} | ${kb(m.wasm.gzip)} |`,
    `| JS as published (${m.shippedJs.files} files, unminified, with comments) | ${kb(m.shippedJs.raw)} | ${kb(m.shippedJs.gzip)} |`,
    `| JS as an app bundles it (every export of the browser entry, esbuild --minify --splitting) | ${kb(m.bundledBrowserJs.raw)} | ${kb(m.bundledBrowserJs.gzip)} |`,
    `| **.wasm + bundled JS (what a page downloads)** | ${kb(m.wasm.raw + m.bundledBrowserJs.raw)} | **${kb(m.totalGzip)}** |`,
    `| the same for an app importing only \`VectorStore\` and \`IndexedDBStorage\` (tree-shaken) | ${kb(m.wasm.raw + m.typicalAppJs.raw)} | ${kb(m.wasm.gzip + m.typicalAppJs.gzip)} |`,
    `| on demand, for a store of another family: \`wasm/full/quiver_bg.wasm\` (every family) + its JS chunk | ${kb(m.fullWasm.raw + m.fullBuildJs.raw)} | ${kb(m.fullWasm.gzip + m.fullBuildJs.gzip)} |`,
    `| .wasm + JS as published | ${kb(m.wasm.raw + m.shippedJs.raw)} | ${kb(m.wasm.gzip + m.shippedJs.gzip)} |`,
    `| worker script bundle (\`quiver-vectors/worker\`, minified) | ${kb(m.bundledWorkerJs.raw)} | ${kb(m.bundledWorkerJs.gzip)} |`,
  ];
  if (m.breakdown) {
    const b = m.breakdown;
    lines.push("", `The .wasm by crate (code section ${kb(b.code)}; data section ${kb(b.data)} of string constants and tables):`, "",
      "| crate | functions | code bytes | share of code | gzip alone |", "| --- | ---: | ---: | ---: | ---: |");
    for (const c of b.crates.slice(0, 12)) {
      lines.push(`| ${c.crate} | ${c.functions} | ${kb(c.bytes)} | ${((100 * c.bytes) / b.code).toFixed(0)}% | ${kb(c.gzip)} |`);
    }
    lines.push("", "Largest functions:", "", "| function | bytes |", "| --- | ---: |");
    for (const f of b.largest) lines.push(`| \`${f.name.length > 90 ? `${f.name.slice(0, 90)}…` : f.name}\` | ${f.size} |`);
  }
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await measure();
  console.log(process.argv.includes("--json") ? JSON.stringify(m) : markdown(m));
}
