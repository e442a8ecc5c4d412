// The store in the page's own thread; the .wasm is fetched on first use.
import * as quiver from "quiver-vectors";
import { scenario } from "./scenario.js";

scenario({ create: (o) => quiver.VectorStore.create(o), isQuiverError: quiver.isQuiverError }).then(
  (result) => (document.body.dataset.result = JSON.stringify(result)),
  (error) => (document.body.dataset.error = String(error?.stack ?? error)),
);
