/**
 * Browser and Web Worker entry. Browsers compile WebAssembly asynchronously, so the `.wasm` is
 * fetched on first use: {@link VectorStore.create} and {@link VectorStore.open} wait for it.
 * Call {@link init} yourself only to load it from another URL, to load it early, or before
 * using the low-level `Collection`.
 *
 * @packageDocumentation
 */
import initWasm from "../wasm/quiver.js";
import { setFullBuildLoader } from "./engine.js";
import { setWasmLoader, wasmReady } from "./runtime.js";

let wasmUrl: string | URL | undefined;
let fullWasmUrl: string | URL | undefined;

/**
 * Fetches and instantiates the `.wasm` (streaming when the server sends `application/wasm`).
 * Later calls return the same promise; a failed load is retried by the next call.
 * @param url - where to load the lean build from; defaults to the copy inside the package
 *   (bundlers such as Vite rewrite that reference and emit the file).
 * @param fullUrl - where to load the full build (IVF, SQ8, PQ, BIN) from when a store needs
 *   it; defaults to `wasm/full/quiver_bg.wasm` inside the package.
 */
export function init(url?: string | URL, fullUrl?: string | URL): Promise<void> {
  if (url !== undefined) wasmUrl = url;
  if (fullUrl !== undefined) fullWasmUrl = fullUrl;
  return wasmReady();
}

setWasmLoader(() =>
  initWasm({ module_or_path: wasmUrl ?? new URL("../wasm/quiver_bg.wasm", import.meta.url) }).then(() => undefined),
);
// A separate chunk for bundlers: fetched only when a store of another family is made or opened.
setFullBuildLoader(async () => {
  const full = await import("../wasm/full/quiver.js");
  await full.default({ module_or_path: fullWasmUrl ?? new URL("../wasm/full/quiver_bg.wasm", import.meta.url) });
  return full;
});

export * from "./core.js";
export { FileStorage } from "./storage/file-unavailable.js";
