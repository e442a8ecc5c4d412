/**
 * The save/open protocol between a {@link Collection} (which owns the bytes and their format)
 * and a {@link StorageAdapter} (which moves them). See `docs/format.md` for the format.
 *
 * - **Open** reads the manifest, then the records it names, and retries when a concurrent
 *   writer replaced them in between.
 * - **Save** runs under the store's write lock (Web Locks, where available, so one tab or worker
 *   writes a store at a time). If another writer committed since this collection last saved or
 *   opened, the stored version is opened and this collection's unsaved changes are replayed on
 *   top of it (last writer wins per id) before saving, so no update is lost. A save is
 *   acknowledged to the core only once `saveBatch` resolved (IndexedDB: the transaction's
 *   `complete` event); a failed save is written again by the next one.
 * - **Notify/follow**: after a save, other instances of the store are told through a
 *   `BroadcastChannel`; they catch up by replaying just the new log records when they have no
 *   unsaved changes of their own.
 *
 * @packageDocumentation
 */
import { Collection } from "../../wasm/quiver.js";
import { engineFor, type Engine } from "../engine.js";
import { isQuiverError, QuiverError, quiverError, toQuiverError } from "../errors.js";
import type { Progress } from "../types.js";
import { storeKeyPrefix, type StorageAdapter } from "./adapter.js";

/** The manifest's key inside a store (the core's `MANIFEST_KEY`). */
const MANIFEST = "manifest";
/** Records loaded per request when the adapter has no `loadMany`. */
const LOAD_BATCH = 32;

/** A storage adapter, optionally with the extensions the bundled adapters provide. */
type Adapter = StorageAdapter & {
  loadMany?: (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]>;
  /**
   * Loads `keys`, handing each record to `each` as its read completes (any order); rejects with
   * what `each` threw, after stopping the reads. Lets an open check and keep records while the
   * rest are read.
   */
  loadEach?: (keys: readonly string[], each: (index: number, bytes: Uint8Array | undefined) => void) => Promise<void>;
  /** Keys under `prefix` without their bytes: lets a save find orphaned records cheaply. */
  listKeys?: (prefix: string) => Promise<string[]>;
  readonly coordinationScope?: string;
};

/**
 * Collections whose store was already swept for orphaned records (see {@link saveCollection}).
 * Orphans appear only when a save crashes part way, which ends the process that made it, so one
 * sweep per opened or created collection finds every one.
 */
const swept = new WeakSet<Collection>();

/** Progress and cancellation of a load or save. */
export interface PersistTask {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
}

const storageKey = (name: string, key: string) => `${storeKeyPrefix(name)}${key}`;

/** Runs a core call, turning its raw errors into {@link QuiverError}s. */
function core<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw toQuiverError(error);
  }
}

/** Wraps what an adapter threw: Quiver errors pass, anything else becomes `storage_error`. */
function storageFailure(error: unknown, what: string): unknown {
  const e = toQuiverError(error);
  if (e instanceof QuiverError) return e;
  const name = (e as { name?: unknown } | null)?.name;
  if (name === "AbortError") return e;
  if (name === "QuotaExceededError") return new QuiverError("quota_exceeded", `${what}: storage quota exceeded`, { cause: e });
  return new QuiverError("storage_error", `${what} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

async function loadRecords(storage: Adapter, name: string, keys: readonly string[], task: PersistTask): Promise<(Uint8Array | undefined)[]> {
  const full = keys.map((k) => storageKey(name, k));
  task.onProgress?.({ phase: "load", done: 0, total: keys.length });
  if (storage.loadMany) {
    const out = await storage.loadMany(full);
    task.onProgress?.({ phase: "load", done: keys.length, total: keys.length });
    return out;
  }
  const out: (Uint8Array | undefined)[] = [];
  for (let i = 0; i < full.length; i += LOAD_BATCH) {
    task.signal?.throwIfAborted();
    out.push(...(await Promise.all(full.slice(i, i + LOAD_BATCH).map((k) => storage.load(k)))));
    task.onProgress?.({ phase: "load", done: out.length, total: keys.length });
  }
  return out;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return a === b;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The stored manifest of `name`, or `undefined`. */
export async function loadManifest(storage: StorageAdapter, name: string): Promise<Uint8Array | undefined> {
  try {
    return await storage.load(storageKey(name, MANIFEST));
  } catch (error) {
    throw storageFailure(error, `loading store ${JSON.stringify(name)}`);
  }
}

/**
 * Opens the stored store `name`, or resolves `undefined` if there is none. Retries (twice) when
 * the records it read were replaced by a concurrent writer.
 */
export async function loadCollection(storage: StorageAdapter, name: string, task: PersistTask = {}): Promise<Collection | undefined> {
  for (let attempt = 0; ; attempt++) {
    task.signal?.throwIfAborted();
    const manifest = await loadManifest(storage, name);
    if (!manifest) return undefined;
    try {
      return await ((storage as Adapter).loadEach ? openStreaming : openLoaded)(storage as Adapter, name, manifest, task);
    } catch (error) {
      if (attempt < 2 && isQuiverError(error, "corrupt") && !sameBytes(await loadManifest(storage, name), manifest)) continue;
      throw error;
    }
  }
}

/** Lets the adapter issue its reads, then grows the wasm heap while they run. */
async function prepareWhileReading(reading: Promise<unknown>, prepare: () => void): Promise<void> {
  // Grow the heap while the storage reads (in the browser's storage process, or libuv's
  // threads): a task later, once the adapter has issued its requests.
  await Promise.race([reading.then(() => undefined, () => undefined), new Promise((resolve) => setTimeout(resolve, 0))]);
  core(prepare);
}

/** The build that holds the family of the store `manifest` describes (see engine.ts). */
function engineForManifest(manifest: Uint8Array): Promise<Engine> {
  return engineFor(core(() => Collection.manifestInfo(manifest)).spec);
}

/** Opens `manifest`'s store from its records, loaded all at once, then decoded. */
async function openLoaded(storage: Adapter, name: string, manifest: Uint8Array, task: PersistTask): Promise<Collection> {
  const { Collection } = await engineForManifest(manifest);
  const keys = core(() => Collection.requiredChunks(manifest));
  let chunks: (Uint8Array | undefined)[];
  try {
    const reading = loadRecords(storage, name, keys, task);
    await prepareWhileReading(reading, () => Collection.prepareOpen(manifest));
    chunks = await reading;
  } catch (error) {
    throw storageFailure(error, `loading store ${JSON.stringify(name)}`);
  }
  task.signal?.throwIfAborted();
  return core(() => Collection.open(manifest, keys, chunks));
}

/**
 * Opens `manifest`'s store with an adapter that hands over records as they arrive
 * (`loadEach`): each is copied into wasm memory and checked (length, CRC-32) on arrival, while
 * the rest are read, and the first bad one stops the reads with `corrupt`; only the decode
 * waits for the last record. An abort stops the reads too. Reads only: whatever fails, the
 * stored records are as they were.
 */
async function openStreaming(storage: Adapter, name: string, manifest: Uint8Array, task: PersistTask): Promise<Collection> {
  const { OpenSession } = await engineForManifest(manifest);
  const session = core(() => new OpenSession(manifest));
  try {
    const keys = session.keys();
    let done = 0;
    task.onProgress?.({ phase: "load", done, total: keys.length });
    const reading = (storage.loadEach as NonNullable<Adapter["loadEach"]>)(
      keys.map((k) => storageKey(name, k)),
      (index, bytes) => {
        task.signal?.throwIfAborted();
        // A missing record is reported by `finish`, once the reads are done.
        if (bytes) core(() => session.accept(index, bytes));
        done++;
        if (done % LOAD_BATCH === 0 && done < keys.length) task.onProgress?.({ phase: "load", done, total: keys.length });
      },
    );
    try {
      await prepareWhileReading(reading, () => session.prepare());
      await reading;
    } catch (error) {
      throw storageFailure(error, `loading store ${JSON.stringify(name)}`);
    }
    task.onProgress?.({ phase: "load", done: keys.length, total: keys.length });
    task.signal?.throwIfAborted();
    return core(() => session.finish());
  } finally {
    session.free();
  }
}

/** Lock chains of this JavaScript realm, for runtimes without Web Locks. */
const localLocks = new Map<string, Promise<unknown>>();

/**
 * Runs `task` holding the store's exclusive write lock: Web Locks where the runtime has them
 * (browsers, workers, Deno), so tabs and workers take turns; otherwise a lock of this realm
 * (Node, workerd), which orders the writers of one process.
 */
function withWriteLock<T>(storage: Adapter, name: string, task: () => Promise<T>): Promise<T> {
  const lockName = `quiver:${storage.coordinationScope ?? ""}:${name}`;
  const locks = (globalThis as { navigator?: { locks?: { request(name: string, options: object, callback: () => Promise<T>): Promise<T> } } }).navigator?.locks;
  if (locks) return locks.request(lockName, { mode: "exclusive" }, task);
  const previous = localLocks.get(lockName) ?? Promise.resolve();
  const result = previous.then(task, task);
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  localLocks.set(lockName, settled);
  void settled.then(() => {
    if (localLocks.get(lockName) === settled) localLocks.delete(lockName);
  });
  return result;
}

/** A channel on which instances of one store announce new saved versions. */
export function storeChannel(storage: StorageAdapter, name: string): BroadcastChannel | undefined {
  const Channel = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
  if (!Channel) return undefined;
  const channel = new Channel(`quiver:${(storage as Adapter).coordinationScope ?? ""}:${name}`);
  // Never keep a Node or Deno process alive just to listen.
  (channel as { unref?: () => void }).unref?.();
  return channel;
}

/**
 * Chunk records of the store that no committed manifest names or will delete, and that this
 * save does not write: leftovers of a save that crashed before its manifest (with adapters that
 * cannot write a batch atomically, such as files). Empty when the adapter cannot list keys.
 */
async function orphanedRecords(storage: Adapter, name: string, stored: Uint8Array | undefined, puts: readonly [key: string, bytes: Uint8Array][]): Promise<string[]> {
  if (!storage.listKeys) return [];
  const prefix = storageKey(name, "");
  let keys: string[];
  try {
    keys = (await storage.listKeys(prefix)).map((k) => k.slice(prefix.length));
  } catch (error) {
    throw storageFailure(error, `listing store ${JSON.stringify(name)}`);
  }
  const writing = new Set(puts.map(([key]) => key));
  return core(() => Collection.orphanChunks(stored, keys)).filter((k) => !writing.has(k));
}

/**
 * Saves `collection` as the store `name`. Resolves to the collection to keep using: the same
 * one, or, if another writer had saved in between, the stored version with this collection's
 * unsaved changes replayed on top (the caller frees the old one).
 *
 * With `compact`, the save writes a full snapshot (folding the op log in), also when it had to
 * rebase onto another writer's version. With `refuseRebase`, a save that would have to rebase
 * rejects with `unsupported` and that message instead, changing nothing.
 *
 * The first save of a collection also deletes orphaned records (see `orphanedRecords`), in the
 * same `saveBatch` as its new manifest, so never before a manifest that no longer needs them is
 * committed. This runs under the write lock: no other writer can have a save in flight.
 */
export function saveCollection(
  storage: StorageAdapter,
  name: string,
  collection: Collection,
  task: PersistTask = {},
  channel?: BroadcastChannel,
  compact = false,
  refuseRebase?: string,
): Promise<Collection> {
  const adapter = storage as Adapter;
  return withWriteLock(adapter, name, async () => {
    task.signal?.throwIfAborted();
    let c = collection;
    const stored = await loadManifest(storage, name);
    if (stored && core(() => Collection.manifestInfo(stored)).version !== c.savedVersion) {
      // Another writer committed: build on its version, not ours.
      if (refuseRebase !== undefined) throw quiverError("unsupported", refuseRebase);
      const fresh = await loadCollection(storage, name, task);
      if (fresh) {
        try {
          core(() => c.rebaseOnto(fresh));
        } catch (error) {
          fresh.free();
          throw toQuiverError(error);
        }
        c = fresh;
      }
    } else if (!stored && c.savedVersion !== 0) {
      // The store was removed from storage: write it whole again.
      c.compact();
    }
    if (compact) c.compact();
    task.signal?.throwIfAborted();
    let plan;
    let orphans: string[] = [];
    try {
      plan = core(() => c.beginSave());
      if (!swept.has(c)) orphans = await orphanedRecords(adapter, name, stored, plan.puts);
    } catch (error) {
      if (plan) c.abortSave(plan.token);
      if (c !== collection) c.free();
      throw error;
    }
    task.onProgress?.({ phase: "save", done: 0, total: plan.puts.length });
    const puts = plan.puts.map(([key, bytes]) => ({ key: storageKey(name, key), bytes }));
    const deletes = [...new Set([...plan.deletes, ...orphans])].map((k) => storageKey(name, k));
    if (puts.length > 0 || deletes.length > 0) {
      try {
        await adapter.saveBatch(puts, deletes);
      } catch (error) {
        c.abortSave(plan.token);
        if (c !== collection) c.free();
        throw storageFailure(error, `saving store ${JSON.stringify(name)}`);
      }
    }
    core(() => c.ackSave(plan.token));
    swept.add(c);
    task.onProgress?.({ phase: "save", done: plan.puts.length, total: plan.puts.length });
    if (puts.length > 0) channel?.postMessage({ version: c.savedVersion });
    return c;
  });
}

/**
 * Brings a collection that follows the store `name` up to the stored version. Resolves to the
 * collection to keep using (the same one, updated in place, or a freshly opened one). A
 * collection with unsaved changes is left as it is: its next save rebases them.
 */
export async function refreshCollection(storage: StorageAdapter, name: string, collection: Collection): Promise<Collection> {
  if (collection.hasUnsavedChanges) return collection;
  const manifest = await loadManifest(storage, name);
  if (!manifest) return collection;
  const plan = core(() => collection.updatePlan(manifest));
  if (plan.kind === "upToDate") return collection;
  if (plan.kind === "incremental") {
    const keys = plan.keys ?? [];
    const chunks = await loadRecords(storage as Adapter, name, keys, {});
    try {
      collection.applyUpdate(manifest, keys, chunks);
      return collection;
    } catch {
      // Part of the update may be applied: replace the collection by a fresh open.
    }
  }
  const fresh = await loadCollection(storage, name);
  if (!fresh) throw quiverError("storage_error", `store ${JSON.stringify(name)} vanished while refreshing`);
  return fresh;
}
