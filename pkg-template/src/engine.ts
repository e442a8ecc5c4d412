/**
 * The two builds of the core and which one a store uses.
 *
 * The `.wasm` every page downloads is the lean build: Flat and `HNSW{m}` over raw vectors, with
 * filters, persistence and tuning. The full build (`wasm/full/`) adds IVF, SQ8, PQ and BIN; it is
 * loaded the first time a store of one of those families is created or opened, and never
 * otherwise, so pages that do not use them do not pay for them (`docs/architecture.md`,
 * "Builds"). Each store keeps the engine it was made with; both read and write the same format.
 *
 * @packageDocumentation
 */
import * as lean from "../wasm/quiver.js";
import { QuiverError, quiverError, toQuiverError } from "./errors.js";
import { wasmReady } from "./runtime.js";

/** A build of the core: the wasm-bindgen module of the lean or the full `.wasm`. */
export type Engine = typeof lean;

let fullLoader: (() => Promise<Engine>) | undefined;
let full: Promise<Engine> | undefined;

/** Registers how this runtime loads the full build (called by an entry point at import). */
export function setFullBuildLoader(load: () => Promise<Engine>): void {
  fullLoader = load;
}

/**
 * Loads the full build (every index family) once and resolves to its module; later calls
 * return the same promise, and a failed load is retried by the next call. Stores load it
 * themselves when their index needs it: call this only to load it early, or to use the
 * low-level `Collection` of a family outside the lean build.
 */
export function loadFullBuild(): Promise<Engine> {
  full ??= (async () => {
    await wasmReady();
    if (!fullLoader) throw quiverError("unsupported", "this runtime's entry point registers no loader for the full build");
    let engine: Engine;
    try {
      engine = await fullLoader();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new QuiverError("storage_error", `could not load the full build (wasm/full/quiver_bg.wasm): ${reason}`, { cause: error });
    }
    // A bundler rule that maps every .wasm to one file would hand back the lean build again.
    if (!engine.isFullBuild()) throw quiverError("storage_error", "wasm/full/quiver_bg.wasm is not the full build (is it the lean .wasm under another name?)");
    return engine;
  })().catch((error: unknown) => {
    full = undefined;
    throw error;
  });
  return full;
}

/**
 * The build that holds `spec`'s family: the lean one when it can, else the full one, loaded on
 * first need. A spec no build holds resolves to the lean one, whose constructor then rejects it
 * with `invalid_spec`; a spec that does not parse throws `invalid_spec` here.
 */
export async function engineFor(spec: string): Promise<Engine> {
  await wasmReady();
  let availability: string;
  try {
    availability = lean.specAvailability(spec);
  } catch (error) {
    throw toQuiverError(error);
  }
  return availability === "fullBuildOnly" ? loadFullBuild() : lean;
}
