// The app's own worker script: serves WorkerVectorStore requests.
import { serveWorker } from "quiver-vectors";

serveWorker();
