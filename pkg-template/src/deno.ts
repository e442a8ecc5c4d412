/**
 * Deno entry: Deno 2 provides `node:fs`, so the `.wasm` is read from the package directory
 * exactly as under Node.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/quiver.js";

initSync({ module: readFileSync(new URL("../wasm/quiver_bg.wasm", import.meta.url)) });

export * from "./core.js";
