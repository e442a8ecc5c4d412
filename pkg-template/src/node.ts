/**
 * Node.js entry: loads the `.wasm` from the package directory synchronously, so the API is
 * ready as soon as the import resolves.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/quiver.js";
import { setFullBuildLoader } from "./engine.js";

initSync({ module: readFileSync(new URL("../wasm/quiver_bg.wasm", import.meta.url)) });
// The full build (IVF, SQ8, PQ, BIN) is read and instantiated only when a store needs it.
setFullBuildLoader(async () => {
  const full = await import("../wasm/full/quiver.js");
  full.initSync({ module: readFileSync(new URL("../wasm/full/quiver_bg.wasm", import.meta.url)) });
  return full;
});

/**
 * Does nothing: here the module is ready on import. Exists so that code written for browsers
 * (`await init()`) runs unchanged.
 * @param _url - ignored.
 */
export function init(_url?: string | URL): Promise<void> {
  return Promise.resolve();
}

export * from "./core.js";
export { FileStorage } from "./storage/file.js";
