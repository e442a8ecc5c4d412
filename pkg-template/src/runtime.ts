/**
 * How the WebAssembly module gets ready. Node, Deno and workerd instantiate it synchronously
 * when their entry is imported; browsers must fetch and compile it, so the browser entry
 * registers a loader that {@link wasmReady} runs once, on first use.
 *
 * @packageDocumentation
 */

let loader: (() => Promise<void>) | undefined;
let ready: Promise<void> | undefined;

/** Registers how to load the module (called by an entry point at import). */
export function setWasmLoader(load: () => Promise<void>): void {
  loader = load;
}

/** Resolves once the module is instantiated; a failed load is retried on the next call. */
export function wasmReady(): Promise<void> {
  if (!loader) return Promise.resolve();
  ready ??= loader().catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  return ready;
}

/**
 * Gives other tasks (timers, input, `abort()` calls) a turn between chunks of long work:
 * `scheduler.yield()` where it exists, else a zero-delay timer.
 */
export function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (typeof scheduler?.yield === "function") return scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}
