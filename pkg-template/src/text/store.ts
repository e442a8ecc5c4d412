/**
 * {@link TextStore}: text in, passages out, over any {@link QuiverStore} and any
 * {@link Embedder}. Documents are chunked into passages that fit the model's window, embedded,
 * and stored with the passage text in their metadata; queries are embedded and searched.
 *
 * Writes are all or nothing: every passage is embedded first (cancellable, with progress), and
 * only then is the whole batch handed to the store's `add`, which itself adds all or nothing.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";
import type { Filter, Metadata, QuiverStore, SearchParams } from "../types.js";
import { chunkText, DEFAULT_CHUNK_TOKENS, type ChunkOptions } from "./chunk.js";
import { checkTexts, throwIfAborted, type Embedder } from "./embedder.js";

/** The metadata fields a {@link TextStore} writes next to the user's own. */
export interface PassageFields {
  /** The passage text, exactly as embedded. */
  text: string;
  /** The id of the document the passage came from. */
  documentId: string;
  /** The passage's position in its document, from 0. */
  chunk: number;
}

/** Field names {@link TextStore} reserves in metadata. */
export const PASSAGE_FIELDS: readonly (keyof PassageFields)[] = ["text", "documentId", "chunk"];

/** A document to add: its text is chunked into passages. */
export interface TextDocument<M extends object = Metadata> {
  /** The document's id; passages get ids `${id}#0`, `${id}#1`, …. */
  id: string;
  /** The document's text (any length). */
  text: string;
  /** Metadata copied onto each passage (must not use the names in {@link PASSAGE_FIELDS}). */
  metadata?: M | undefined;
}

/** Progress of {@link TextStore.addDocuments}: chunking, embedding, then storing. */
export interface TextProgress {
  /** What is running. */
  phase: "chunk" | "embed" | "add";
  /** Units done (documents for chunk, passages for embed and add). */
  done: number;
  /** Units in total. */
  total: number;
}

/** Options of {@link TextStore.addDocuments} and {@link TextStore.addTexts}. */
export interface AddTextOptions extends Omit<ChunkOptions, "countTokens"> {
  /** Cancels the call; nothing is added. */
  signal?: AbortSignal | undefined;
  /** Called as chunking, embedding and storing progress. */
  onProgress?: ((progress: TextProgress) => void) | undefined;
}

/** Options of {@link TextStore.searchText}. */
export interface SearchTextOptions {
  /** How many passages (default 10). */
  k?: number | undefined;
  /** A metadata filter over the passages (user fields and `documentId`). */
  filter?: Filter | undefined;
  /** Per-query index knobs. */
  params?: SearchParams | undefined;
  /** Cancels the query's embedding. */
  signal?: AbortSignal | undefined;
}

/** One passage found by {@link TextStore.searchText}. */
export interface TextHit<M extends object = Metadata> {
  /** The passage id (`${documentId}#${chunk}`). */
  id: string;
  /** The store metric's score (cosine similarity for the default stores). */
  score: number;
  /** The passage text. */
  text: string;
  /** The document it came from. */
  documentId: string;
  /** Its position in the document. */
  chunk: number;
  /** The document's own metadata (without the passage fields). */
  metadata: M;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Text-level calls over a store and an embedder.
 *
 * @example
 * ```js
 * import { VectorStore } from "quiver-vectors";
 * import { TextStore } from "quiver-vectors/text";
 * import { createLocalEmbedder } from "quiver-vectors/embed";
 *
 * const embedder = await createLocalEmbedder({ modelPath: "/models/all-MiniLM-L6-v2" });
 * const texts = new TextStore(await VectorStore.create({ dimension: embedder.dimension }), embedder);
 * await texts.addDocuments([{ id: "guide", text: longMarkdown, metadata: { lang: "en" } }]);
 * const hits = await texts.searchText("how do I cancel a save?", { k: 5 });
 * ```
 */
export class TextStore<M extends object = Metadata> {
  /** The vector store holding the passages. */
  readonly store: QuiverStore<M & PassageFields>;
  /** The embedder for passages and queries. */
  readonly embedder: Embedder;

  /**
   * @throws `dimension_mismatch` if the embedder's dimension is not the store's (checked here,
   * before anything can be written).
   */
  constructor(store: QuiverStore<M & PassageFields>, embedder: Embedder) {
    if (typeof store !== "object" || store === null || typeof store.add !== "function") throw quiverError("invalid_argument", "TextStore needs a Quiver store (VectorStore, WorkerVectorStore or ShardedStore)");
    if (typeof embedder !== "object" || embedder === null || typeof embedder.embed !== "function") throw quiverError("invalid_argument", "TextStore needs an Embedder ({ dimension, embed })");
    if (embedder.dimension !== store.dimension) {
      throw quiverError("dimension_mismatch", `the embedder ${embedder.name ?? ""} makes ${embedder.dimension}-d vectors but the store ${JSON.stringify(store.name)} holds ${store.dimension}-d vectors`.replace("  ", " "));
    }
    this.store = store;
    this.embedder = embedder;
  }

  /**
   * Chunks each document into passages, embeds them, and adds them, all or nothing: a bad
   * document, an id already stored, a failed embedding batch or a cancel adds nothing.
   * Resolves to the passage ids, in order.
   */
  async addDocuments(documents: readonly TextDocument<M>[], options: AddTextOptions = {}): Promise<string[]> {
    if (!Array.isArray(documents)) throw quiverError("invalid_argument", "documents must be an array of { id, text, metadata? }");
    const { signal, onProgress } = options;
    const chunkTokens = Math.min(options.chunkTokens ?? DEFAULT_CHUNK_TOKENS, this.embedder.maxTokens ?? Number.MAX_SAFE_INTEGER);
    const countTokens = this.embedder.countTokens?.bind(this.embedder);
    const seen = new Set<string>();
    const passages: { id: string; text: string; metadata: M & PassageFields }[] = [];
    for (const [i, doc] of documents.entries()) {
      throwIfAborted(signal);
      if (typeof doc !== "object" || doc === null) throw quiverError("invalid_argument", `document ${i} is not an object`);
      if (typeof doc.id !== "string" || doc.id.length === 0) throw quiverError("invalid_id", `document ${i} has no id (a non-empty string)`);
      if (seen.has(doc.id)) throw quiverError("duplicate_id", `document id ${JSON.stringify(doc.id)} appears twice in the batch`);
      seen.add(doc.id);
      if (typeof doc.text !== "string") throw quiverError("invalid_argument", `document ${JSON.stringify(doc.id)}: text must be a string, got ${typeof doc.text}`);
      if (doc.text.trim().length === 0) throw quiverError("invalid_argument", `document ${JSON.stringify(doc.id)} is empty or only whitespace: there is nothing to embed`);
      const metadata = doc.metadata ?? ({} as M);
      if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw quiverError("invalid_metadata", `document ${JSON.stringify(doc.id)}: metadata must be an object`);
      for (const field of PASSAGE_FIELDS) {
        if (field in metadata) throw quiverError("invalid_metadata", `document ${JSON.stringify(doc.id)}: metadata field ${JSON.stringify(field)} is reserved for the passage (${PASSAGE_FIELDS.join(", ")})`);
      }
      const chunks = await chunkText(doc.text, { chunkTokens, overlapTokens: options.overlapTokens, countTokens });
      chunks.forEach((text, chunk) => passages.push({ id: `${doc.id}#${chunk}`, text, metadata: { ...metadata, text, documentId: doc.id, chunk } }));
      onProgress?.({ phase: "chunk", done: i + 1, total: documents.length });
    }
    const vectors = await this.embedder.embed(
      passages.map((p) => p.text),
      { signal, onProgress: onProgress && ((p) => onProgress({ phase: "embed", done: p.done, total: p.total })) },
    );
    if (vectors.length !== passages.length) throw quiverError("invalid_vector", `the embedder returned ${vectors.length} vectors for ${passages.length} passages`);
    throwIfAborted(signal);
    await this.store.add(
      passages.map((p, i) => ({ id: p.id, vector: vectors[i]!, metadata: p.metadata })),
      { signal, onProgress: onProgress && ((p) => onProgress({ phase: "add", done: p.done, total: p.total })) },
    );
    return passages.map((p) => p.id);
  }

  /**
   * Adds texts as documents (each chunked if it is longer than a passage). Ids default to
   * random UUIDs; `metadatas[i]` goes with `texts[i]`. Resolves to the passage ids.
   */
  addTexts(texts: readonly string[], options: AddTextOptions & { ids?: readonly string[] | undefined; metadatas?: readonly (M | undefined)[] | undefined } = {}): Promise<string[]> {
    checkTexts(texts);
    const { ids, metadatas } = options;
    if (ids !== undefined && ids.length !== texts.length) throw quiverError("invalid_argument", `ids has ${ids.length} entries for ${texts.length} texts`);
    if (metadatas !== undefined && metadatas.length !== texts.length) throw quiverError("invalid_argument", `metadatas has ${metadatas.length} entries for ${texts.length} texts`);
    return this.addDocuments(texts.map((text, i) => ({ id: ids?.[i] ?? randomId(), text, metadata: metadatas?.[i] })), options);
  }

  /** Embeds `query` and returns the `k` best passages, best first. */
  async searchText(query: string, options: SearchTextOptions = {}): Promise<TextHit<M>[]> {
    if (typeof query !== "string" || query.trim().length === 0) throw quiverError("invalid_argument", "the query must be a non-empty string");
    const [vector] = await this.embedder.embed([query], { signal: options.signal });
    const hits = await this.store.search({ vector: vector!, k: options.k ?? 10, filter: options.filter, params: options.params });
    return hits.map((hit) => {
      const { text, documentId, chunk, ...metadata } = (hit.metadata ?? {}) as M & PassageFields;
      return { id: hit.id, score: hit.score, text, documentId, chunk, metadata: metadata as unknown as M };
    });
  }

  /**
   * Deletes every passage of the given documents, all or nothing: an id with no passages fails
   * with `not_found` and deletes nothing. Resolves to the number of passages deleted.
   */
  async deleteDocuments(documentIds: readonly string[]): Promise<number> {
    const passageIds: string[] = [];
    for (const documentId of documentIds) {
      let chunk = 0;
      while ((await this.#has(`${documentId}#${chunk}`))) chunk++;
      if (chunk === 0) throw quiverError("not_found", `no passages of document ${JSON.stringify(documentId)} are stored`);
      for (let i = 0; i < chunk; i++) passageIds.push(`${documentId}#${i}`);
    }
    return this.store.delete(passageIds);
  }

  /** Whether a passage is stored; `getMetadata` where the store has it (works without vectors). */
  async #has(id: string): Promise<boolean> {
    const store = this.store as QuiverStore<M & PassageFields> & { getMetadata?: (id: string) => Promise<unknown> };
    return (await (store.getMetadata ? store.getMetadata(id) : store.get(id))) !== undefined;
  }
}
