// The demo's Web Worker: serves WorkerVectorStores (quiver-vectors' serveWorker) with their
// stores saved in IndexedDB when the package has the adapter. The worker's name picks the
// database, so the corpus index (rebuilt at will) and the user's files never share one.
// Module workers do not see the page's import map, hence the path into the installed package.
import * as quiver from "./node_modules/quiver-vectors/dist/browser.js";

const DATABASE = self.name === "quiver-files" ? "quiver-demo-files" : "quiver-demo";
const storage = quiver.IndexedDBStorage ? new quiver.IndexedDBStorage({ database: DATABASE }) : undefined;
quiver.serveWorker(storage ? { storage: () => storage } : {});
