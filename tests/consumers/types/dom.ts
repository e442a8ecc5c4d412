// Type tests that need the DOM library (compiled only in the bundler/DOM configuration): a
// real `Worker` and `MessagePort` are accepted as endpoints.
import { init, serveWorker, WorkerVectorStore } from "quiver-vectors";

export async function dom(worker: Worker, port: MessagePort): Promise<void> {
  await init(new URL("/assets/quiver_bg.wasm", location.href));
  await WorkerVectorStore.create(worker, { dimension: 3 });
  await WorkerVectorStore.create(port, { dimension: 3 });
  serveWorker({ endpoint: port });
  // @ts-expect-error a URL object or string, not a number
  await init(5);
}
