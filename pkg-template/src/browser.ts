/**
 * Browser and Web Worker entry. Compiling WebAssembly is asynchronous in browsers, so call
 * {@link init} (once; later calls return the same promise) before using the API.
 *
 * @packageDocumentation
 */
import initWasm from "../wasm/quiver.js";

let ready: Promise<void> | undefined;

/**
 * Fetches and instantiates the `.wasm` (streaming when the server sends `application/wasm`).
 * @param wasmUrl - where to load the module from; defaults to the copy inside the package.
 */
export function init(wasmUrl?: string | URL): Promise<void> {
  ready ??= initWasm({
    module_or_path: wasmUrl ?? new URL("../wasm/quiver_bg.wasm", import.meta.url),
  }).then(() => undefined);
  return ready;
}

export * from "./core.js";
