/**
 * A ready-made Web Worker script that serves {@link WorkerVectorStore}s (with in-memory stores:
 * to give them storage, write your own worker that calls `serveWorker({ storage })`).
 *
 * ```js
 * const worker = new Worker(new URL("quiver-vectors/worker", import.meta.url), { type: "module" });
 * ```
 *
 * @packageDocumentation
 */
import { serveWorker } from "./browser.js";

serveWorker();
