/**
 * `quiver-vectors/text`: the text-level API — {@link TextStore} (documents in, passages out),
 * {@link chunkText}, and the {@link Embedder} contract with {@link embedderFromFunction} for
 * bringing your own model or API. Loads no model runtime: the local model is
 * `quiver-vectors/embed`, its Web Worker front end `quiver-vectors/embed-worker`.
 *
 * @packageDocumentation
 */
export { TextStore, PASSAGE_FIELDS, type AddTextOptions, type PassageFields, type SearchTextOptions, type TextDocument, type TextHit, type TextProgress } from "./text/store.js";
export { chunkText, decodeUtf8, estimateTokens, DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS, type ChunkOptions } from "./text/chunk.js";
export { embedderFromFunction, type EmbedFunction, type EmbedOptions, type EmbedProgress, type Embedder, type FunctionEmbedderOptions } from "./text/embedder.js";
export { QuiverError, isQuiverError, type QuiverErrorCode } from "./errors.js";
