// Shared by the workerd tests (durable-object.test.mjs, workerd-memory.test.mjs): bundles a
// Worker module as wrangler would and starts Miniflare on it. Not a test file itself.
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes `source` to `work/worker.mjs` and bundles it into `work/dist/worker.js` with esbuild
 * (the workerd conditions), each `.wasm` it imports kept as a module of its own beside it (the
 * lean and the full build, as wrangler keeps them). Resolves to the bundle's path.
 */
export async function bundleWorker(work, source) {
  writeFileSync(join(work, "worker.mjs"), source);
  const esbuild = await import("esbuild");
  const wasm = [];
  await esbuild.build({
    entryPoints: [join(work, "worker.mjs")],
    outfile: join(work, "dist/worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    logLevel: "error",
    plugins: [{
      name: "wasm-module",
      setup(build) {
        build.onResolve({ filter: /\.wasm$/ }, (args) => {
          const name = `./${wasm.length}.wasm`;
          wasm.push({ source: join(args.resolveDir, args.path), name });
          return { path: name, external: true };
        });
      },
    }],
  });
  for (const { source, name } of wasm) copyFileSync(source, join(work, "dist", name));
  return join(work, "dist/worker.js");
}

/** Miniflare on `bundle` with one Durable Object namespace `binding` of class `className`. */
export async function miniflareWith(bundle, { binding, className, useSQLite, persist }) {
  const { Miniflare } = await import("miniflare");
  return new Miniflare({
    modules: true,
    scriptPath: bundle,
    modulesRoot: join(bundle, ".."),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-01-01",
    durableObjects: { [binding]: { className, useSQLite } },
    durableObjectsPersist: persist,
  });
}
