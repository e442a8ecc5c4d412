// The committed 3k fixture (tests/fixtures/minilm-3k) for the package tests: each TEXMEX file
// as one Float32Array (.fvecs) or Int32Array (.ivecs) per row. Not a test file itself.
import { readFileSync } from "node:fs";

const fixture = new URL("../fixtures/minilm-3k/", import.meta.url);

export function readVecs(name) {
  const bytes = readFileSync(new URL(name, fixture));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  const rows = bytes.byteLength / (4 * (dim + 1));
  const isInt = name.endsWith(".ivecs");
  return Array.from({ length: rows }, (_, r) => {
    const row = isInt ? new Int32Array(dim) : new Float32Array(dim);
    for (let j = 0; j < dim; j++) {
      const at = 4 * (r * (dim + 1) + 1 + j);
      row[j] = isInt ? view.getInt32(at, true) : view.getFloat32(at, true);
    }
    return row;
  });
}
