#!/usr/bin/env node
// Checks that the Rust core's dependencies point one way (docs/architecture.md):
//   1. no module imports a module on a higher floor (FLOORS below, lowest first);
//   2. no import cycle between files, and none between top-level modules.
// An "import" is any `crate::…`, `super::…` or `self::…` path in code (comments stripped), in a
// `use` line or inline, resolved to the file that defines the longest matching module path.
// `mod x;` declarations are not imports.
//
// Violations that exist today and are being removed step by step are listed in
// scripts/layers-baseline.txt; the check fails on any violation not listed there, and on any
// listed one that no longer occurs (so the list only shrinks). `--write-baseline` rewrites it.
//
//   node scripts/check-layers.mjs [--write-baseline] [--graph]
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const src = join(root, "src");
const baselinePath = join(root, "scripts/layers-baseline.txt");

/** Floors, lowest first: a module may import its own floor's modules (acyclically) and lower ones. */
export const FLOORS = [
  ["error", "limits", "topk", "texmex", "heap"], // foundations: errors, limits, top-k, the TEXMEX reader, heap growth
  ["distance"], // kernels: scalar and SIMD128 distances
  ["codec"], // the wire codec: Read/Write traits and primitive encoders
  ["quant", "index"], // quantizers and index families, each encoding itself through the codec
  ["filter"], // filter language, field indexes, strategy planning over an index
  ["collection", "snapshot"], // the collection and its file format
  ["tune"], // recall measurement, tuning, monitoring
  ["api"], // the surface as plain data: options, reports and their checks
  ["wasm", "lib"], // the binding and the crate root
];
const floorOf = new Map(FLOORS.flatMap((mods, floor) => mods.map((m) => [m, floor])));

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? rustFiles(path) : name.endsWith(".rs") ? [path] : [];
  });
}

/** src/a/b.rs → "a::b"; src/a/mod.rs → "a"; src/lib.rs → "". */
function modulePath(file) {
  const parts = relative(src, file).replace(/\.rs$/, "").split("/");
  if (parts.at(-1) === "mod" || parts.at(-1) === "lib") parts.pop();
  return parts.join("::");
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\/\/.*$/gm, "");
}

/** Expands `prefix::{a, b::c, d::{e, f}}` into full paths. */
function expandGroups(path) {
  const open = path.indexOf("{");
  if (open < 0) return [path];
  const head = path.slice(0, open);
  const inner = path.slice(open + 1, path.lastIndexOf("}"));
  const items = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i++) {
    const c = inner[i];
    if (c === "{") depth++;
    if (c === "}") depth--;
    if ((c === "," && depth === 0) || i === inner.length) {
      const item = inner.slice(start, i).trim();
      if (item) items.push(...expandGroups(head + item));
      start = i + 1;
    }
  }
  return items;
}

export function analyse() {
  const files = rustFiles(src).filter((f) => !/\/tests\.rs$|\/tests\//.test(f));
  const byModule = new Map(files.map((f) => [modulePath(f), f]));
  const rel = (f) => relative(root, f);
  const fileEdges = new Map(files.map((f) => [rel(f), new Set()]));
  // `pub use module::{A, B}` in lib.rs: name → the module path it comes from.
  const rootReexports = new Map();
  for (const m of stripComments(readFileSync(join(src, "lib.rs"), "utf8")).matchAll(/pub use ([^;]+);/g)) {
    for (const full of expandGroups(m[1].replace(/\s+/g, ""))) {
      const parts = full.split("::");
      rootReexports.set(parts.at(-1), parts.slice(0, -1));
    }
  }
  for (const file of files) {
    const self = modulePath(file);
    const selfParts = self ? self.split("::") : [];
    const text = stripComments(readFileSync(file, "utf8"))
      // Test modules inside a file are not part of the layering.
      .replace(/#\[cfg\(test\)\]\s*mod\s+\w+\s*\{[\s\S]*$/m, "");
    const paths = [];
    for (const m of text.matchAll(/\b(crate|super|self)::((?:[A-Za-z_][A-Za-z0-9_]*::)*(?:\{[^;]*?\}|[A-Za-z_][A-Za-z0-9_]*))/g)) {
      for (const full of expandGroups(`${m[1]}::${m[2]}`)) paths.push(full.replace(/\s+/g, ""));
    }
    // Uniform paths: a child module named without `self::` (`use flat::FlatIndex`,
    // `hnsw::Graph::new()`) is an import of that child too.
    const children = [...text.matchAll(/^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;/gm)].map((m) => m[1]);
    for (const child of children) {
      for (const m of text.matchAll(new RegExp(`(?<![A-Za-z0-9_:])${child}::((?:[A-Za-z_][A-Za-z0-9_]*::)*(?:\\{[^;]*?\\}|[A-Za-z_][A-Za-z0-9_]*))`, "g"))) {
        for (const full of expandGroups(`self::${child}::${m[1]}`)) paths.push(full.replace(/\s+/g, ""));
      }
    }
    for (const path of paths) {
      let parts = path.split("::");
      const anchor = parts.shift();
      let base;
      if (anchor === "crate") base = [];
      else if (anchor === "self") base = selfParts;
      else {
        base = selfParts.slice(0, -1);
        while (parts[0] === "super") { parts.shift(); base = base.slice(0, -1); }
      }
      // Names the crate root re-exports (`crate::Result`) stand for their defining module.
      if (base.length === 0 && rootReexports.has(parts[0])) parts = [...rootReexports.get(parts[0]), ...parts.slice(1)];
      const segments = [...base, ...parts];
      let target;
      for (let n = segments.length; n >= 0; n--) {
        const candidate = segments.slice(0, n).join("::");
        if (byModule.has(candidate)) { target = byModule.get(candidate); break; }
      }
      if (target && target !== file) fileEdges.get(rel(file)).add(rel(target));
    }
  }
  const top = (f) => {
    const m = modulePath(join(root, f));
    return m === "" ? "lib" : m.split("::")[0];
  };
  const moduleEdges = new Map();
  for (const [from, tos] of fileEdges) for (const to of tos) {
    const [a, b] = [top(from), top(to)];
    if (a === b) continue;
    if (!moduleEdges.has(a)) moduleEdges.set(a, new Map());
    const examples = moduleEdges.get(a);
    if (!examples.has(b)) examples.set(b, `${from} -> ${to}`);
  }
  const violations = [];
  for (const [a, targets] of moduleEdges) for (const [b, example] of targets) {
    if (!floorOf.has(a) || !floorOf.has(b)) violations.push(`unplaced: ${floorOf.has(a) ? b : a} (add it to FLOORS)`);
    else if (floorOf.get(b) > floorOf.get(a)) violations.push(`upward: ${a} -> ${b} (e.g. ${example})`);
  }
  const graphOf = (edges) => new Map([...edges].map(([k, v]) => [k, [...(v instanceof Map ? v.keys() : v)]]));
  for (const scc of cycles(graphOf(fileEdges))) violations.push(`file cycle: ${scc.join(", ")}`);
  for (const scc of cycles(graphOf(moduleEdges))) violations.push(`module cycle: ${scc.join(", ")}`);
  return { violations: [...new Set(violations)].sort(), fileEdges, moduleEdges };
}

/** Strongly connected components of more than one node (Tarjan), each sorted. */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const info = new Map();
  const out = [];
  const visit = (v) => {
    info.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!info.has(w)) { visit(w); info.get(v).low = Math.min(info.get(v).low, info.get(w).low); }
      else if (info.get(w).onStack) info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do { w = stack.pop(); info.get(w).onStack = false; component.push(w); } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!info.has(v)) visit(v);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { violations, moduleEdges } = analyse();
  if (process.argv.includes("--graph")) {
    for (const [a, targets] of [...moduleEdges].sort()) console.log(`${a} (floor ${floorOf.get(a)}) -> ${[...targets.keys()].sort().join(", ")}`);
  }
  if (process.argv.includes("--write-baseline")) {
    writeFileSync(baselinePath, `# Known layering violations (scripts/check-layers.mjs), removed step by step; see docs/architecture.md.\n${violations.join("\n")}\n`);
    console.log(`wrote ${violations.length} entries to ${relative(root, baselinePath)}`);
    process.exit(0);
  }
  const baseline = new Set(readFileSync(baselinePath, "utf8").split("\n").filter((l) => l && !l.startsWith("#")));
  const fresh = violations.filter((v) => !baseline.has(v));
  const gone = [...baseline].filter((v) => !violations.includes(v));
  console.log(`layers: ${violations.length} known violation(s) in the baseline, ${fresh.length} new, ${gone.length} fixed`);
  for (const v of fresh) console.log(`  NEW   ${v}`);
  for (const v of gone) console.log(`  FIXED ${v} (remove it from scripts/layers-baseline.txt)`);
  process.exit(fresh.length + gone.length > 0 ? 1 : 0);
}
