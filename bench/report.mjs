// Rebuilds the Markdown tables and the SVG plot from a results file, without rerunning:
//   node bench/report.mjs bench/results/<dataset>-<time>.jsonl [--plot-clock cpu|wall]
// Writes <file>.md and <file>-recall-qps.svg beside the input and prints the Markdown.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { flatMarkdown, quantMarkdown, recallQpsSvg, suiteMarkdown } from "./lib/report.mjs";

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench/report.mjs results.jsonl [--plot-clock cpu|wall]");
  process.exit(2);
}
const clock = rest[rest.indexOf("--plot-clock") + 1] && rest.includes("--plot-clock") ? rest[rest.indexOf("--plot-clock") + 1] : "cpu";
const records = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const context = records.find((r) => r.kind === "context") ?? {};
const flatRows = records.filter((r) => r.suite === "flat" && r.name);
const ratioRecord = records.find((r) => r.suite === "flat" && r.kind === "ratios");
const suite = records.filter((r) => r.suite === "suite" && typeof r.recall === "number");
const skipped = records.filter((r) => r.suite === "suite" && (r.kind === "skipped" || r.kind === "failed"));
const parts = [`## ${context.dataset ?? basename(file)} (${context.date ?? "?"})`, "",
  `${context.cpu}, ${context.node} (V8 ${context.v8}), no flags; load average ${context.loadavgStart?.join(" ")} at start, ${context.loadavgEnd?.join(" ")} at end.`, ""];
if (flatRows.length) {
  // The targets' checks, recovered from their text (">= 2.5", "<= 1.5").
  const check = (target) => {
    const m = /^(>=|<=) ([\d.]+)$/.exec(target ?? "");
    return m ? (v) => (m[1] === ">=" ? v >= Number(m[2]) : v <= Number(m[2])) : null;
  };
  const ratios = (ratioRecord?.ratios ?? []).map((x) => ({ name: x.name, value: x.wall, cpuValue: x.cpu, target: x.target, check: check(x.target) }));
  parts.push("### Flat search (issue 3)", "", flatMarkdown(flatRows, ratios, { ...context, nq: flatRows[0].nq }), "");
}
const stem = file.replace(/\.jsonl$/, "");
if (suite.length) {
  const svg = `${stem}-recall-qps.svg`;
  writeFileSync(svg, recallQpsSvg(suite, { title: `${context.dataset}: recall@${context.k} vs QPS (${context.rows} x ${context.dim}, ${context.metric}, single queries, ${clock} clock)`, k: context.k, clock }));
  parts.push("### Suite (issue 10)", "", suiteMarkdown(suite, skipped, context), "", `![recall vs QPS](${basename(svg)})`, "");
}
const quant = records.filter((r) => r.suite === "quant" && typeof r.recall === "number");
const quantSkipped = records.filter((r) => r.suite === "quant" && (r.kind === "skipped" || r.kind === "failed"));
if (quant.length || quantSkipped.length) parts.push("### Quantization (issue 6)", "", quantMarkdown(quant, quantSkipped, context), "");
const md = parts.join("\n");
writeFileSync(`${stem}.md`, `${md}\n`);
console.log(md);
