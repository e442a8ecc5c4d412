// A Deno script: the package resolves through node_modules with the "deno" condition.
import * as quiver from "quiver-vectors";
import { scenario } from "./scenario.js";

const result: Record<string, unknown> = await scenario({
  create: (o: quiver.CreateOptions) => quiver.VectorStore.create(o),
  isQuiverError: quiver.isQuiverError,
});
result.entry = import.meta.resolve("quiver-vectors");
console.log(JSON.stringify(result));
