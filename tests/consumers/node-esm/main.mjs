// A plain Node ESM project: `import` the package, run the scenario, print the result.
import * as quiver from "quiver-vectors";
import { scenario } from "./scenario.js";

const result = await scenario({ create: (o) => quiver.VectorStore.create(o), isQuiverError: quiver.isQuiverError });
result.entry = import.meta.resolve("quiver-vectors");
console.log(JSON.stringify(result));
