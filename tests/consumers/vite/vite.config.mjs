// Two pages: the store in the page's thread, and the store in a Web Worker.
import { fileURLToPath } from "node:url";

const page = (file) => fileURLToPath(new URL(file, import.meta.url));

export default {
  logLevel: "warn",
  build: {
    target: "es2022",
    rollupOptions: { input: { main: page("index.html"), worker: page("worker.html") } },
  },
  worker: { format: "es" },
};
