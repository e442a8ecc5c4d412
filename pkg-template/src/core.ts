/**
 * The environment-independent API of Quiver. Each entry point (`node`, `deno`, `browser`,
 * `workerd`) initialises the WebAssembly module its own way and re-exports this module.
 *
 * @packageDocumentation
 */
export { Collection, simdEnabled, version, errorCodes, dot, l2Squared } from "../wasm/quiver.js";

/** Every error code the core can raise; stable across releases. */
export type QuiverErrorCode =
  | "invalid_dimension"
  | "dimension_mismatch"
  | "invalid_vector"
  | "zero_vector"
  | "invalid_k"
  | "invalid_id"
  | "duplicate_id"
  | "not_found"
  | "invalid_spec"
  | "invalid_metric"
  | "invalid_metadata"
  | "invalid_argument"
  | "not_trained"
  | "unsupported"
  | "corrupt"
  | "unsupported_version"
  | "invalid_filter"
  | "memory_budget_exceeded";

/** An error raised by Quiver: a JS `Error` named `QuiverError` with a stable `code`. */
export interface QuiverError extends Error {
  name: "QuiverError";
  code: QuiverErrorCode;
}

/** Whether `error` is a {@link QuiverError} (optionally with the given code). */
export function isQuiverError(error: unknown, code?: QuiverErrorCode): error is QuiverError {
  return (
    error instanceof Error &&
    error.name === "QuiverError" &&
    typeof (error as { code?: unknown }).code === "string" &&
    (code === undefined || (error as QuiverError).code === code)
  );
}
