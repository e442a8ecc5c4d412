/**
 * Node.js entry: loads the `.wasm` from the package directory synchronously, so the API is
 * ready as soon as the import resolves.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/quiver.js";

initSync({ module: readFileSync(new URL("../wasm/quiver_bg.wasm", import.meta.url)) });

export * from "./core.js";
