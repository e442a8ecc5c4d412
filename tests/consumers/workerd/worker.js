// A Cloudflare Worker: bundled as wrangler does (conditions workerd, worker, browser; .wasm
// kept as a CompiledWasm module), then run in workerd by Miniflare.
import * as quiver from "quiver-vectors";
import { scenario } from "./scenario.js";

export default {
  async fetch() {
    const result = await scenario({ create: (o) => quiver.VectorStore.create(o), isQuiverError: quiver.isQuiverError });
    return Response.json(result);
  },
};
