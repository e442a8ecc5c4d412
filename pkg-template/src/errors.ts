/**
 * Typed errors. Every failure the package reports on purpose is a {@link QuiverError} whose
 * `code` is one of {@link QuiverErrorCode}: the core's codes (from `src/error.rs`) plus the
 * ones the TypeScript layer raises itself (`closed`), all listed in one place.
 *
 * @packageDocumentation
 */

/**
 * Every error code Quiver can raise; stable across releases (a code never changes meaning; new
 * failure modes get new codes). Kept equal to `Error::ALL_CODES` in the Rust core by a test.
 */
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
  | "memory_budget_exceeded"
  | "closed"
  | "quota_exceeded"
  | "storage_error"
  | "shard_failed"
  | "model_missing"
  | "model_corrupt"
  | "text_too_long";

/**
 * An error raised by Quiver, with a stable machine-readable {@link QuiverError.code} to
 * `switch` on. The message is for people and may change between releases.
 *
 * Cancellation is not a `QuiverError`: a cancelled operation rejects with its
 * `AbortSignal`'s `reason` (an `AbortError` `DOMException` unless you gave another), as
 * `fetch` does.
 */
export class QuiverError extends Error {
  /** Always `"QuiverError"`. */
  override readonly name = "QuiverError" as const;
  /** What went wrong, as a stable code. */
  readonly code: QuiverErrorCode;

  /**
   * @param code - the stable code.
   * @param message - a human-readable explanation.
   * @param options - `cause`: the underlying error, if any.
   */
  constructor(code: QuiverErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Whether `error` is a Quiver error (optionally with the given `code`). Also recognises the
 * raw errors of the low-level {@link Collection} binding (plain `Error`s named `QuiverError`
 * with a `code`) and errors from another realm, which `instanceof` would miss.
 */
export function isQuiverError(error: unknown, code?: QuiverErrorCode): error is QuiverError {
  return (
    error instanceof Error &&
    error.name === "QuiverError" &&
    typeof (error as { code?: unknown }).code === "string" &&
    (code === undefined || (error as QuiverError).code === code)
  );
}

/** Turns a raw core error into a {@link QuiverError}; leaves every other value as it is. */
export function toQuiverError(error: unknown): unknown {
  if (error instanceof QuiverError || !isQuiverError(error)) return error;
  return new QuiverError(error.code, error.message);
}

/** Shorthand for `new QuiverError(code, message)`, to `throw`. */
export function quiverError(code: QuiverErrorCode, message: string): QuiverError {
  return new QuiverError(code, message);
}
