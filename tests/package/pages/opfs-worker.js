// A dedicated worker of the OPFS tests: saves a store with OPFSStorage, reopens it, and
// reports back; the page then opens the same directory from the window.
import { OPFSStorage, VectorStore, init, isQuiverError } from "/pkg/dist/browser.js";

self.onmessage = async ({ data: { directory } }) => {
  try {
    await init();
    const storage = new OPFSStorage({ directory });
    const store = await VectorStore.create({ name: "w", dimension: 4, metric: "l2", storage });
    await store.add(Array.from({ length: 500 }, (_, i) => ({ id: `w${i}`, vector: [i, i % 7, 1, -i] })));
    await store.save();
    await store.delete(["w0"]);
    await store.add([{ id: "late", vector: [0, 0, 0, 0], metadata: { worker: true } }]);
    await store.save();
    await store.close();
    const again = await VectorStore.open({ name: "w", storage: new OPFSStorage({ directory }) });
    const count = (await again.stats()).count;
    const late = (await again.get("late"))?.metadata;
    const nearest = (await again.search({ vector: [3, 3, 1, -3], k: 1 }))[0]?.id;
    await again.close();
    self.postMessage({ count, late, nearest });
  } catch (error) {
    self.postMessage({ error: isQuiverError(error) ? `${error.code}: ${error.message}` : String(error) });
  }
};
