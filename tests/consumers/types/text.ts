// Type tests of quiver-vectors/text and quiver-vectors/embed-worker (compiled, never run; see
// usage.ts). These two entries have no dependencies, so any consumer project can check them.
import { VectorStore } from "quiver-vectors";
import { WorkerEmbedder } from "quiver-vectors/embed-worker";
import { TextStore, chunkText, decodeUtf8, embedderFromFunction, type Embedder, type TextHit } from "quiver-vectors/text";

declare const worker: { postMessage(message: unknown, transfer: ArrayBuffer[]): void; addEventListener(type: string, listener: (event: any) => void): void };

export async function textUsage(): Promise<void> {
  const embedder: Embedder = embedderFromFunction(async (texts) => texts.map(() => [0.1, 0.2, 0.3]), { dimension: 3, batchSize: 8 });
  const vectors: Float32Array[] = await embedder.embed(["a", "b"], { onProgress: (p) => void p.done });
  void vectors;
  const store = await VectorStore.create<{ lang: string; text: string; documentId: string; chunk: number }>({ dimension: 3 });
  const texts = new TextStore<{ lang: string }>(store, embedder);
  const ids: string[] = await texts.addDocuments([{ id: "d", text: "hello", metadata: { lang: "en" } }], { chunkTokens: 64, onProgress: (p) => void p.phase });
  void ids;
  const hits: TextHit<{ lang: string }>[] = await texts.searchText("hi", { k: 3, filter: { lang: "en" } });
  const lang: string = hits[0]!.metadata.lang;
  const text: string = hits[0]!.text;
  void lang;
  void text;
  // @ts-expect-error a document needs text
  await texts.addDocuments([{ id: "d" }]);
  // @ts-expect-error the dimension is required
  embedderFromFunction(async () => [], {});
  const passages: string[] = await chunkText("long text", { chunkTokens: 100, overlapTokens: 10 });
  void passages;
  const decoded: string = decodeUtf8(new Uint8Array([104, 105]), "hi.txt");
  void decoded;
  const remote: Embedder = await WorkerEmbedder.connect(worker);
  void remote;
}
