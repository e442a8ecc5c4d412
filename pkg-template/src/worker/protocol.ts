/**
 * The messages between {@link WorkerVectorStore} (the page) and {@link serveWorker} (the
 * worker). Requests carry an id; the worker answers each with one reply, and may send progress
 * messages before it. Calls on one store are answered in the order they were sent, because the
 * worker hands them to its store in receipt order and the store runs them one at a time.
 *
 * @packageDocumentation
 */
import { QuiverError, isQuiverError, type QuiverErrorCode } from "../errors.js";
import type { Progress } from "../types.js";

/** Tags every Quiver message, so a worker can carry other traffic too. */
export const TAG = "quiver/1";

/**
 * Anything that can send and receive structured-clone messages: a `Worker`, the worker's own
 * global scope, a `MessagePort`.
 */
export interface MessageEndpoint {
  /** Sends `message`, transferring the listed buffers (which become detached here). */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  /** Listens for `"message"` (and, on a `Worker`, `"error"`) events. */
  addEventListener(type: string, listener: (event: any) => void): void;
  /** Stops listening. */
  removeEventListener?(type: string, listener: (event: any) => void): void;
  /** Starts a `MessagePort`'s message queue (not needed for a `Worker`). */
  start?(): void;
}

/** The store operations a request can name. */
export type Op = "create" | "open" | "add" | "upsert" | "delete" | "get" | "getMetadata" | "search" | "save" | "compact" | "stats" | "measureRecall" | "tune" | "setSearchDefaults" | "close";

/** Page → worker. */
export type Request =
  | { tag: typeof TAG; id: number; op: Op; store: number; args: unknown[]; cancellable: boolean; progress: boolean }
  | { tag: typeof TAG; id: number; op: "abort" };

/** An error as it crosses (structured clone drops an `Error`'s own `code`). */
export interface WireError {
  name: string;
  message: string;
  code?: QuiverErrorCode | undefined;
}

/** Worker → page. */
export type Reply =
  | { tag: typeof TAG; id: number; ok: true; value: unknown }
  | { tag: typeof TAG; id: number; ok: false; error: WireError }
  | { tag: typeof TAG; id: number; progress: Progress };

/** Describes an error for the wire. */
export function toWire(error: unknown): WireError {
  if (isQuiverError(error)) return { name: "QuiverError", message: error.message, code: error.code };
  if (error instanceof Error || (typeof DOMException !== "undefined" && error instanceof DOMException)) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  return { name: "Error", message: String(error) };
}

/** Rebuilds an error from the wire (an `AbortError` is left to the caller, who has the reason). */
export function fromWire(error: WireError): Error {
  if (error.name === "QuiverError" && error.code) return new QuiverError(error.code, error.message);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
