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
 * Gives other tasks (timers, input, messages such as a worker's abort request) a turn between
 * chunks of long work. A zero-delay timer, not `scheduler.yield()`: the latter resumes ahead of
 * already queued tasks, which would starve exactly the abort messages we yield for.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
