/**
 * `quiver-vectors/langchain`: Quiver as a LangChain.js `VectorStore`, and any Quiver
 * {@link Embedder} as LangChain `Embeddings`. Its own entry point, so the core package does not
 * depend on LangChain: `@langchain/core` is an optional peer dependency.
 *
 * Each LangChain document is one stored item: its `pageContent` is kept in the item's metadata
 * (field `pageContent`, reserved), next to the document's own metadata, so filters see the
 * document's fields as they are.
 *
 * @packageDocumentation
 */
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { Embeddings, type EmbeddingsInterface, type EmbeddingsParams } from "@langchain/core/embeddings";
import { VectorStore } from "@langchain/core/vectorstores";
import { quiverError } from "./errors.js";
import type { Embedder } from "./text/embedder.js";
import type { Filter, Metadata, QuiverStore, SearchParams } from "./types.js";

/** The metadata field that holds a document's `pageContent`. */
export const PAGE_CONTENT_FIELD = "pageContent";

/** Configuration of {@link QuiverVectorStore}. */
export interface QuiverVectorStoreArgs {
  /** An open Quiver store (VectorStore, WorkerVectorStore or ShardedStore). */
  store?: QuiverStore<Metadata> | undefined;
  /**
   * Creates the store once the dimension is known (from the first vectors), when no `store` is
   * given: e.g. `(dimension) => VectorStore.create({ dimension })`.
   */
  create?: ((dimension: number) => Promise<QuiverStore<Metadata>>) | undefined;
  /** Index knobs for every search (e.g. `{ efSearch: 64 }`). */
  searchParams?: SearchParams | undefined;
}

/** Options of {@link QuiverVectorStore.addDocuments} and {@link QuiverVectorStore.addVectors}. */
export interface QuiverAddOptions {
  /** Item ids, one per document; default: each document's `id`, else a random UUID. */
  ids?: string[] | undefined;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * A LangChain.js vector store over Quiver. `similaritySearchVectorWithScore` returns the
 * store's metric score: cosine similarity or inner product (higher is better), or squared L2
 * distance (lower is better) for `l2` stores. Filters are Quiver filters (`docs/filters.md`).
 *
 * @example
 * ```js
 * import { VectorStore } from "quiver-vectors";
 * import { QuiverVectorStore } from "quiver-vectors/langchain";
 * const vectorStore = await QuiverVectorStore.fromDocuments(docs, embeddings, {
 *   create: (dimension) => VectorStore.create({ dimension }),
 * });
 * const retriever = vectorStore.asRetriever({ k: 4, filter: { lang: "en" } });
 * ```
 */
export class QuiverVectorStore extends VectorStore {
  declare FilterType: Filter;
  #store: QuiverStore<Metadata> | undefined;
  readonly #create: ((dimension: number) => Promise<QuiverStore<Metadata>>) | undefined;
  readonly #searchParams: SearchParams | undefined;

  _vectorstoreType(): string {
    return "quiver";
  }

  constructor(embeddings: EmbeddingsInterface, args: QuiverVectorStoreArgs) {
    super(embeddings, args as Record<string, unknown>);
    if (args?.store === undefined && args?.create === undefined) {
      throw quiverError("invalid_argument", "QuiverVectorStore needs { store } (an open Quiver store) or { create: (dimension) => VectorStore.create({ dimension }) }");
    }
    this.#store = args.store;
    this.#create = args.create;
    this.#searchParams = args.searchParams;
  }

  /** The Quiver store, once it exists (it is created on the first add when only `create` was given). */
  get store(): QuiverStore<Metadata> | undefined {
    return this.#store;
  }

  async #storeFor(dimension: number): Promise<QuiverStore<Metadata>> {
    if (this.#store === undefined) this.#store = await this.#create!(dimension);
    return this.#store;
  }

  /** Stores documents with vectors computed elsewhere, all or nothing. Resolves to their ids. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options: QuiverAddOptions = {}): Promise<string[]> {
    if (!Array.isArray(vectors) || !Array.isArray(documents) || vectors.length !== documents.length) {
      throw quiverError("invalid_argument", `addVectors needs one vector per document (got ${vectors?.length} vectors, ${documents?.length} documents)`);
    }
    if (options.ids !== undefined && options.ids.length !== documents.length) throw quiverError("invalid_argument", `ids has ${options.ids.length} entries for ${documents.length} documents`);
    if (documents.length === 0) return [];
    const store = await this.#storeFor(vectors[0]!.length);
    const ids = documents.map((doc, i) => options.ids?.[i] ?? doc.id ?? randomId());
    const items = documents.map((doc, i) => {
      const metadata = (doc.metadata ?? {}) as Metadata;
      if (PAGE_CONTENT_FIELD in metadata) throw quiverError("invalid_metadata", `document ${i}: metadata field "${PAGE_CONTENT_FIELD}" is reserved for the document's text`);
      if (typeof doc.pageContent !== "string") throw quiverError("invalid_argument", `document ${i}: pageContent must be a string`);
      return { id: ids[i]!, vector: vectors[i]!, metadata: { ...metadata, [PAGE_CONTENT_FIELD]: doc.pageContent } };
    });
    await store.add(items);
    return ids;
  }

  /** Embeds the documents' `pageContent` with this store's embeddings and stores them. */
  async addDocuments(documents: DocumentInterface[], options: QuiverAddOptions = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** The `k` nearest documents to `query` (a vector) with their scores, best first. */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: Filter): Promise<[DocumentInterface, number][]> {
    if (this.#store === undefined) return [];
    const hits = await this.#store.search({ vector: query, k, filter, params: this.#searchParams });
    return hits.map((hit) => {
      const { [PAGE_CONTENT_FIELD]: pageContent, ...metadata } = (hit.metadata ?? {}) as Metadata;
      return [new Document({ pageContent: String(pageContent ?? ""), metadata, id: hit.id }), hit.score];
    });
  }

  /** Deletes documents by id, all or nothing (an unknown id fails with `not_found`). */
  async delete(params: { ids: string[] }): Promise<void> {
    if (!params || !Array.isArray(params.ids)) throw quiverError("invalid_argument", "delete takes { ids: string[] } (deleting by filter is not supported)");
    if (params.ids.length === 0 || this.#store === undefined) {
      if (params.ids.length > 0) throw quiverError("not_found", "the store is empty");
      return;
    }
    await this.#store.delete(params.ids);
  }

  /** Embeds `texts` (with `metadatas`, one object for all or one per text) into a new store. */
  static async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: QuiverVectorStoreArgs): Promise<QuiverVectorStore> {
    const docs = texts.map((pageContent, i) => new Document({ pageContent, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) ?? {} }));
    return QuiverVectorStore.fromDocuments(docs, embeddings, args);
  }

  /** Embeds `docs` into a new store. */
  static async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, args: QuiverVectorStoreArgs): Promise<QuiverVectorStore> {
    const store = new QuiverVectorStore(embeddings, args);
    await store.addDocuments(docs);
    return store;
  }
}

/** A Quiver {@link Embedder} as LangChain `Embeddings` (e.g. the local all-MiniLM-L6-v2). */
export class QuiverEmbeddings extends Embeddings {
  readonly embedder: Embedder;

  constructor(embedder: Embedder, params: EmbeddingsParams = {}) {
    super(params);
    this.embedder = embedder;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return (await this.embedder.embed(texts)).map((v) => Array.from(v));
  }

  async embedQuery(text: string): Promise<number[]> {
    const [vector] = await this.embedder.embed([text]);
    return Array.from(vector!);
  }
}
