/**
 * Browser and Web Worker entry. Browsers compile WebAssembly asynchronously, so the `.wasm` is
 * fetched on first use: {@link VectorStore.create} and {@link VectorStore.open} wait for it.
 * Call {@link init} yourself only to load it from another URL, to load it early, or before
 * using the low-level `Collection`.
 *
 * @packageDocumentation
 */
import initWasm from "../wasm/quiver.js";
import { setWasmLoader, wasmReady } from "./runtime.js";

let wasmUrl: string | URL | undefined;

/**
 * Fetches and instantiates the `.wasm` (streaming when the server sends `application/wasm`).
 * Later calls return the same promise; a failed load is retried by the next call.
 * @param url - where to load the module from; defaults to the copy inside the package
 *   (bundlers such as Vite rewrite that reference and emit the file).
 */
export function init(url?: string | URL): Promise<void> {
  if (url !== undefined) wasmUrl = url;
  return wasmReady();
}

setWasmLoader(() =>
  initWasm({ module_or_path: wasmUrl ?? new URL("../wasm/quiver_bg.wasm", import.meta.url) }).then(() => undefined),
);

export * from "./core.js";
export { FileStorage } from "./storage/file-unavailable.js";
