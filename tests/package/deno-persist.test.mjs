// FileStorage under Deno: save, save incrementally, reopen (the deno entry, node:fs in Deno).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = join(root, "node_modules/@deno/linux-x64-glibc/deno");

test("Deno: FileStorage round trip with an incremental save", async () => {
  const dir = mkdtempSync(join(tmpdir(), "quiver-deno-"));
  try {
    writeFileSync(join(dir, "main.ts"), `
import { FileStorage, VectorStore } from ${JSON.stringify(join(root, "pkg/dist/deno.js"))};
const storage = new FileStorage(${JSON.stringify(join(dir, "data"))});
const store = await VectorStore.create({ name: "d", dimension: 4, storage });
await store.add([{ id: "a", vector: [1, 0, 0, 0] }, { id: "b", vector: [0, 1, 0, 0], metadata: { tag: "x" } }]);
await store.save();
await store.add([{ id: "c", vector: [0, 0, 1, 0] }]);
await store.delete(["a"]);
await store.save();
await store.close();
const again = await VectorStore.open({ name: "d", storage });
const hits = await again.search({ vector: [0, 1, 0.2, 0], k: 3 });
console.log(JSON.stringify({ count: (await again.stats()).count, hits: hits.map((h) => h.id), b: (await again.get("b")).metadata }));
await again.close();
`);
    const { stdout } = await promisify(execFile)(deno, ["run", "--allow-read", "--allow-write", "main.ts"], {
      cwd: dir,
      env: { ...process.env, DENO_DIR: join(dir, "cache"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    });
    assert.deepEqual(JSON.parse(stdout), { count: 2, hits: ["b", "c"], b: { tag: "x" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
