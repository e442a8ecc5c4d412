/**
 * Cloudflare Workers (workerd) entry: Workers forbid compiling WebAssembly from bytes at run
 * time, so the `.wasm` is imported as a module (bundled by wrangler/Miniflare as CompiledWasm).
 *
 * @packageDocumentation
 */
import wasmModule from "../wasm/quiver_bg.wasm";
import { initSync } from "../wasm/quiver.js";

initSync({ module: wasmModule });

export * from "./core.js";
