// The worker of the crash test's `worker-terminate` mode (persist-harness.js `workerWriter`):
// serves the crash-test store, with the storage of the backend named in the URL, to the page,
// which terminates this worker at a random moment.
import { serveWorker } from "/pkg/dist/browser.js";
import { crashStorage } from "./persist-harness.js";

const backend = new URL(import.meta.url).searchParams.get("backend") ?? "indexeddb";
serveWorker({ storage: () => crashStorage(backend) });
