/**
 * Cloudflare Workers (workerd) entry: Workers forbid compiling WebAssembly from bytes at run
 * time, so the `.wasm` is imported as a module (bundled by wrangler/Miniflare as CompiledWasm).
 *
 * @packageDocumentation
 */
import wasmModule from "../wasm/quiver_bg.wasm";
import fullWasmModule from "../wasm/full/quiver_bg.wasm";
import { initSync } from "../wasm/quiver.js";
import { setFullBuildLoader } from "./engine.js";

initSync({ module: wasmModule });
// Both modules are part of the Worker's upload (Workers cannot fetch and compile code), but the
// full build is instantiated, with its own memory, only when a store needs it.
setFullBuildLoader(async () => {
  const full = await import("../wasm/full/quiver.js");
  full.initSync({ module: fullWasmModule });
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
export { FileStorage } from "./storage/file-unavailable.js";
