// Markdown tables and a hand-written SVG plot (recall@k vs QPS, one Pareto curve per library)
// from the benchmark's JSON records. No plotting dependencies.
import { sig } from "./stats.mjs";

const fmt = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : String(sig(x, digits)));
const mb = (bytes) => (bytes ? `${(bytes / 1e6).toFixed(1)}` : "–");
const kb = (bytes) => (bytes ? `${(bytes / 1e3).toFixed(0)}` : "–");

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function describe(r) {
  const build = Object.entries(r.build ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
  const search = r.label ?? Object.entries(r.search ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
  return [build, search].filter(Boolean).join(" ") || "–";
}

/** The flat-search tables (issue 3). */
export function flatMarkdown(records, ratios, context) {
  const rows = records.map((r) => [
    r.name, fmt(r.p50Ms), fmt(r.p99Ms), fmt(r.qps), fmt(r.cpuMsPerQuery), r.recall === null ? "–" : r.recall.toFixed(4),
    r.gbPerS ? fmt(r.gbPerS) : "–",
  ]);
  const parts = [
    `Flat search, ${context.rows} x ${context.dim} (${context.metric}), ${context.nq} queries, k=${context.k}, ` +
      `median of ${context.runs} interleaved runs, ${context.node} on ${context.cpu}:`,
    "",
    table(["configuration", "ms/query (p50)", "p99 ms", "QPS", "CPU ms/query", `recall@${context.k}`, "GB/s"], rows),
    "",
    table(["ratio (measured side by side)", "from p50 ms/query", "met", "from CPU ms/query", "met", "target"], ratios.map((x) => {
      const met = (v) => (x.check && Number.isFinite(v) ? (x.check(v) ? "yes" : "**no**") : "–");
      return [x.name, fmt(x.value), met(x.value), x.cpuValue === null ? "–" : fmt(x.cpuValue), met(x.cpuValue), x.target];
    })),
  ];
  return parts.join("\n");
}

/** The suite table (issue 10): every library and configuration. */
export function suiteMarkdown(records, skipped, context) {
  const rows = records.map((r) => [
    r.library, r.variant && r.variant !== "simd" ? `${r.variant} ` : "", r.runtime ?? "node", describe(r), r.mode,
    r.recall.toFixed(4), fmt(r.p50Ms), fmt(r.p99Ms), fmt(r.qps), fmt(r.cpuMsPerQuery), fmt(r.buildMs / 1000),
    mb(r.memory?.reportedBytes ?? r.memory?.rssDeltaBytes ?? r.memory?.jsDeltaBytes),
    r.wasmBytes ? `${kb(r.wasmBytes)} / ${kb(r.wasmGzipBytes)}` : "–", r.version ?? "–",
  ].map(String)).map(([lib, variant, ...rest]) => [`${lib}${variant ? ` (${variant.trim()})` : ""}`, ...rest]);
  const parts = [
    `Suite, ${context.rows} x ${context.dim} (${context.metric}), ${context.nq} queries, k=${context.k}, one process per library, ` +
      `median of ${context.runs} runs, ${context.node} on ${context.cpu}:`,
    "",
    table(["library", "runtime", "build / search", "mode", `recall@${context.k}`, "p50 ms", "p99 ms", "QPS", "CPU ms/query", "build s", "memory MB", "wasm KB (gzip)", "version"], rows),
  ];
  if (skipped.length) {
    parts.push("", "Skipped:", "", ...skipped.map((s) => `- ${s.library}${s.runtime && s.runtime !== "node" ? ` [${s.runtime}]` : ""} ${describe(s)}: ${s.reason}`));
  }
  return parts.join("\n");
}

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8", "#98df8a", "#ff9896"];

/** Points not dominated by another point with both higher (or equal) recall and QPS. */
export function pareto(points) {
  const sorted = [...points].sort((a, b) => b.recall - a.recall || b.qps - a.qps);
  const front = [];
  let bestQps = -Infinity;
  for (const p of sorted) {
    if (p.qps > bestQps) {
      front.push(p);
      bestQps = p.qps;
    }
  }
  return front.sort((a, b) => a.recall - b.recall);
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Recall@k (x) against QPS (y, log scale) for single-query search, one Pareto curve per
 * library; dominated points are drawn faintly. `clock: "cpu"` plots queries per CPU-second
 * (1000 / CPU ms per query), which a loaded machine distorts far less than wall-clock QPS.
 */
export function recallQpsSvg(records, { title, k = 10, clock = "wall", minRecallShown = 0.85 }) {
  // Points below minRecallShown (IVF at nprobe=1, ...) are left out: they would squeeze the
  // region where the libraries actually differ (0.9-1) into a sliver.
  const single = records
    .filter((r) => r.mode === "single" && r.recall >= minRecallShown)
    .map((r) => ({ ...r, qps: clock === "cpu" ? 1000 / r.cpuMsPerQuery : r.qps }))
    .filter((r) => r.qps > 0 && Number.isFinite(r.qps));
  const byLibrary = new Map();
  for (const r of single) {
    // One series per library and runtime (Node is the default and goes unnamed).
    const tags = [r.variant && r.variant !== "simd" ? r.variant : null, r.runtime && r.runtime !== "node" ? r.runtime : null].filter(Boolean);
    const name = tags.length ? `${r.library} (${tags.join(", ")})` : r.library;
    if (!byLibrary.has(name)) byLibrary.set(name, []);
    byLibrary.get(name).push(r);
  }
  const W = 760, H = 480, left = 70, right = 190, top = 40, bottom = 55;
  const pw = W - left - right, ph = H - top - bottom;
  // Zoom the recall axis onto the data (ANN curves live between 0.8 and 1).
  const minRecall = Math.min(0.98, ...single.map((r) => r.recall));
  const xMin = Math.max(0, Math.floor((minRecall - 0.01) * 20) / 20);
  const xStep = 1 - xMin > 0.3 ? 0.1 : 1 - xMin > 0.1 ? 0.05 : 0.01;
  const qps = single.map((r) => r.qps);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...qps, 10)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...qps, 100)));
  const x = (recall) => left + ((recall - xMin) / (1 - xMin)) * pw;
  const y = (q) => top + ph - ((Math.log10(q) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left + pw / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  // Grid and axes.
  for (let i = 0; xMin + i * xStep <= 1.0001; i++) {
    const t = xMin + i * xStep;
    const px = x(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + ph}" stroke="#e5e5e5"/>`,
      `<text x="${px}" y="${top + ph + 18}" text-anchor="middle">${t.toFixed(xStep < 0.1 ? 2 : 1)}</text>`);
  }
  for (let decade = yMin; decade <= yMax * 1.0001; decade *= 10) {
    const py = y(decade).toFixed(1);
    out.push(`<line x1="${left}" y1="${py}" x2="${left + pw}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${decade >= 1000 ? `${decade / 1000}k` : decade}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${left + pw / 2}" y="${H - 12}" text-anchor="middle">recall@${k} (points below ${minRecallShown} not shown)</text>`,
    `<text transform="translate(18 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${clock === "cpu" ? "queries per CPU-second" : "queries per second"} (log scale, one thread)</text>`);
  let i = 0;
  for (const [name, points] of byLibrary) {
    const color = palette[i % palette.length];
    // Browser runs are dashed, so a library's Node and Chromium curves read as a pair.
    const dash = points[0].runtime === "chromium" ? ' stroke-dasharray="6 3"' : "";
    const front = pareto(points);
    for (const p of points) {
      if (!front.includes(p)) out.push(`<circle cx="${x(p.recall).toFixed(1)}" cy="${y(p.qps).toFixed(1)}" r="2.5" fill="${color}" fill-opacity="0.35"/>`);
    }
    if (front.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${front.map((p) => `${x(p.recall).toFixed(1)},${y(p.qps).toFixed(1)}`).join(" ")}"/>`);
    }
    for (const p of front) {
      out.push(`<circle cx="${x(p.recall).toFixed(1)}" cy="${y(p.qps).toFixed(1)}" r="4" fill="${color}"><title>${esc(`${name} ${describe(p)}: recall ${p.recall.toFixed(4)}, ${sig(p.qps, 3)} QPS`)}</title></circle>`);
    }
    const ly = top + 10 + i * 20;
    out.push(`<line x1="${left + pw + 15}" y1="${ly}" x2="${left + pw + 35}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<circle cx="${left + pw + 25}" cy="${ly}" r="4" fill="${color}"/>`,
      `<text x="${left + pw + 42}" y="${ly}" dominant-baseline="middle">${esc(name)}</text>`);
    i++;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

const WORKER_BYTES = 128 * 1024 * 1024;

/**
 * Bytes per vector of a quantization record: as held, and without the f32 store (what the index
 * needs in RAM with full vectors cold): Quiver's breakdown minus `vectors` and `metadata` (string
 * ids), EdgeVec's binary Flat index as held (it has no f32 store), null where the f32 vectors
 * cannot be dropped (EdgeVec's HNSW).
 */
export function quantBytes(r) {
  const rows = r.rows;
  const held = r.memory?.reportedBytes ? r.memory.reportedBytes / rows : null;
  const b = r.memory?.breakdown;
  let cold = null;
  if (b) cold = (b.total - b.vectors - b.metadata) / rows;
  else if (r.build?.index === "binary-flat") cold = held;
  return { held, cold };
}

/** The quantization tables (issue 6): one row per configuration, then SIMD / scalar ratios. */
export function quantMarkdown(records, skipped, context) {
  const name = (r) => `${r.library}${r.variant ? ` (${r.variant})` : ""}`;
  const build = (r) => (r.library === "quiver" ? r.build.spec : Object.entries(r.build ?? {}).map(([k, v]) => `${k}=${v}`).join(","));
  const rows = records.map((r) => {
    const { held, cold } = quantBytes(r);
    const projected = cold ?? held;
    return [
      name(r), build(r), r.label ?? "–", r.recall.toFixed(4), fmt(held, 4), fmt(cold, 4),
      fmt(r.qps), fmt(r.cpuMsPerQuery), fmt(1000 / r.cpuMsPerQuery), fmt(r.buildMs / 1000),
      r.buildCpuMs === undefined ? "–" : fmt(r.buildCpuMs / 1000),
      projected ? `${projected.toFixed(1)} MB${cold === null ? " as held" : ""}` : "–",
      projected ? (projected * 1e6 <= WORKER_BYTES ? "yes" : "no") : "–",
    ];
  });
  const parts = [
    `Quantization, ${context.rows} x ${context.dim} (${context.metric}), ${context.nq} queries, k=${context.k}, ` +
      `entries of one session interleaved, median of ${context.runs} runs, ${context.node} on ${context.cpu}:`,
    "",
    table(["library", "spec / build", "search", `recall@${context.k}`, "bytes/vector (as held)", "bytes/vector (f32 store cold)",
      "QPS (wall)", "CPU ms/query", "QPS per CPU s", "build s (wall)", "build CPU s", `1M × ${context.dim} (f32 cold)`, "fits 128 MB"], rows),
  ];
  const pairs = [];
  for (const s of records.filter((r) => r.library === "quiver" && r.variant === "simd")) {
    const c = records.find((r) => r.library === "quiver" && r.variant === "scalar" && r.build.spec === s.build.spec && r.label === s.label);
    if (c) pairs.push([s.build.spec, s.label ?? "–", fmt(c.cpuMsPerQuery / s.cpuMsPerQuery), fmt(c.p50Ms / s.p50Ms), fmt(c.buildMs / s.buildMs)]);
  }
  if (pairs.length) {
    parts.push("", table(["spec", "search", "SIMD / scalar (CPU ms/query)", "(p50 wall)", "build (wall)"], pairs));
  }
  if (skipped.length) parts.push("", "Skipped:", "", ...skipped.map((s) => `- ${s.entry ?? s.library}: ${s.reason}`));
  return parts.join("\n");
}
