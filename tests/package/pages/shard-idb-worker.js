// A Worker shard with IndexedDB storage, for sharded-browser.test.mjs.
import { serveWorker, IndexedDBStorage } from "/pkg/dist/browser.js";

const storage = new IndexedDBStorage();
serveWorker({ storage: () => storage });
