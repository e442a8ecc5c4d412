// The demo's embedding worker: all-MiniLM-L6-v2 (int8) through quiver-vectors/embed, served to
// the page with quiver-vectors/embed-worker. transformers.js has bare imports, which module
// workers cannot map, so scripts/build-demo.sh bundles this file with esbuild. The model and
// ONNX Runtime's wasm are served by the demo itself (models/, ort/): nothing is fetched from
// elsewhere.
import { createLocalEmbedder } from "quiver-vectors/embed";
import { serveEmbedder } from "quiver-vectors/embed-worker";

serveEmbedder(
  createLocalEmbedder({
    modelPath: new URL("models/all-MiniLM-L6-v2", self.location.href).href,
    wasmPaths: new URL("ort/", self.location.href).href,
    quantized: true,
  }),
);
