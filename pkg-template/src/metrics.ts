/**
 * Per-store metrics: a fixed log-bucket latency histogram, sliding-window rates and the
 * `onMetric` hook. Everything here is O(1) per observation and of fixed size, whatever the
 * store's age; reading percentiles walks the fixed bucket array.
 *
 * Metric names follow the OpenTelemetry semantic-convention style (dot-separated, unit in the
 * event, not the name); Prometheus exporters map them by replacing dots with underscores and
 * appending the unit (`quiver.search.duration` in ms → `quiver_search_duration_milliseconds`).
 *
 * @packageDocumentation
 */

/** The names {@link MetricEvent}s carry. */
export type MetricName =
  | "quiver.search.duration"
  | "quiver.search.count"
  | "quiver.insert.duration"
  | "quiver.insert.count"
  | "quiver.delete.count"
  | "quiver.recall";

/**
 * One measurement, handed to {@link MetricsOptions.onMetric} synchronously as it happens:
 *
 * | name | kind | unit | value |
 * | --- | --- | --- | --- |
 * | `quiver.search.duration` | histogram | `ms` | time of one search in the core |
 * | `quiver.search.count` | counter | `{search}` | 1 per search |
 * | `quiver.insert.duration` | histogram | `ms` | time of one `add`/`upsert` call |
 * | `quiver.insert.count` | counter | `{item}` | items written by one `add`/`upsert` |
 * | `quiver.delete.count` | counter | `{item}` | items deleted by one `delete` |
 * | `quiver.recall` | gauge | `1` | recall@k from `measureRecall` or `tune` (attribute `k`) |
 *
 * Attributes are always `store` (the store's name) and `index` (its spec), plus `k` for
 * `quiver.recall`.
 */
export interface MetricEvent {
  /** The metric's name. */
  name: MetricName;
  /** The measured value, in `unit`. */
  value: number;
  /** UCUM unit, as OpenTelemetry instruments declare it. */
  unit: "ms" | "{search}" | "{item}" | "1";
  /** The instrument kind to record it with. */
  kind: "histogram" | "counter" | "gauge";
  /** `{ store, index }`, plus `k` for recall. */
  attributes: { store: string; index: string; k?: number };
}

/** Metrics options of a store (part of `CreateOptions` / `OpenOptions`). */
export interface MetricsOptions {
  /**
   * Whether the store keeps the latency histogram and rates reported by `stats()`. Defaults to
   * `true`; the cost is two `performance.now()` calls and a few array writes per call (see
   * `bench/README.md`, "Metrics overhead").
   */
  metrics?: boolean | undefined;
  /**
   * Called synchronously with every measurement (see {@link MetricEvent} for the names). Keep
   * it cheap: it runs inside the store's call. An exception it throws is swallowed, so
   * monitoring never fails a search.
   */
  onMetric?: ((event: MetricEvent) => void) | undefined;
}

/** Latency percentiles of a histogram, in milliseconds (0 when nothing was observed). */
export interface LatencySummary {
  /** Observations. */
  count: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Mean (exact). */
  mean: number;
  /** Largest observation (exact). */
  max: number;
}

/** Buckets per doubling: bucket bounds grow by 2^(1/8) ≈ 9%, so a percentile is within ±4.5%. */
const BUCKETS_PER_OCTAVE = 8;
/** Lower bound of the first bucket: 1 µs. */
const MIN_MS = 0.001;
/** 28 octaves above 1 µs: up to 2.7 × 10⁵ ms (4.5 minutes); longer lands in the last bucket. */
const BUCKETS = 28 * BUCKETS_PER_OCTAVE;

/**
 * A latency histogram with fixed logarithmic buckets (HdrHistogram-like, coarser): O(1) per
 * observation, 224 counters whatever the number of observations. Percentiles are the geometric
 * middle of the bucket holding that rank, clamped to the exact min and max, so their relative
 * error is at most 2^(1/16) - 1 ≈ 4.4%.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS + 1);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records one duration in milliseconds (negative or NaN values count as 0). */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    let bucket = 0;
    if (v >= MIN_MS) bucket = Math.min(BUCKETS, 1 + Math.floor(Math.log2(v / MIN_MS) * BUCKETS_PER_OCTAVE));
    this.#counts[bucket]!++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** The `q`-quantile (0 < q ≤ 1) in milliseconds; 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += this.#counts[b]!;
      if (seen >= rank) {
        // The overflow bucket has no upper bound: its best estimate is the exact max.
        if (b === BUCKETS) return this.#max;
        // Bucket b ≥ 1 holds [MIN·2^((b-1)/8), MIN·2^(b/8)); bucket 0 holds [0, MIN).
        const middle = b === 0 ? MIN_MS / 2 : MIN_MS * 2 ** ((b - 0.5) / BUCKETS_PER_OCTAVE);
        return Math.min(this.#max, Math.max(this.#min, middle));
      }
    }
    return this.#max;
  }

  /** p50, p95, p99, mean and max. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      mean: this.#count === 0 ? 0 : this.#sum / this.#count,
      max: this.#max,
    };
  }
}

/** Seconds covered by {@link RateWindow}. */
export const RATE_WINDOW_SECONDS = 60;

/**
 * Events per second over the last {@link RATE_WINDOW_SECONDS} seconds (or since the window
 * was created, if younger): one counter per second in a ring, O(1) per observation.
 */
export class RateWindow {
  readonly #counts = new Float64Array(RATE_WINDOW_SECONDS);
  readonly #stamps = new Float64Array(RATE_WINDOW_SECONDS).fill(-1);
  readonly #start: number;
  #total = 0;
  readonly #now: () => number;

  /** `now` returns milliseconds (defaults to `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#start = now();
  }

  /** Records `n` events now. */
  add(n: number, at: number = this.#now()): void {
    const second = Math.floor(at / 1000);
    const slot = second % RATE_WINDOW_SECONDS;
    if (this.#stamps[slot] !== second) {
      this.#stamps[slot] = second;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]! += n;
    this.#total += n;
  }

  /** Events since creation. */
  get total(): number {
    return this.#total;
  }

  /** Events per second over the window (0 before any time has passed). */
  rate(at: number = this.#now()): number {
    const second = Math.floor(at / 1000);
    let events = 0;
    for (let i = 0; i < RATE_WINDOW_SECONDS; i++) {
      const stamp = this.#stamps[i]!;
      if (stamp >= 0 && stamp > second - RATE_WINDOW_SECONDS) events += this.#counts[i]!;
    }
    const spanMs = Math.min(RATE_WINDOW_SECONDS * 1000, at - this.#start);
    return spanMs > 0 ? (events * 1000) / spanMs : 0;
  }
}

/** What a store's metrics report in `stats()`. */
export interface OperationStats {
  /** Searches: count since open, rate over the window, latency percentiles. */
  search: { count: number; qps: number; latencyMs: LatencySummary };
  /** Items written by `add`/`upsert`: count since open and rate over the window. */
  insert: { count: number; perSecond: number };
  /** Items deleted since open. */
  deletes: number;
  /** Seconds the rates are computed over ({@link RATE_WINDOW_SECONDS}, or the store's age). */
  windowSeconds: number;
}

/** The metrics state of one store; `undefined` members cost nothing on the hot path. */
export class StoreMetrics {
  readonly #attributes: { store: string; index: string };
  readonly #onMetric: ((event: MetricEvent) => void) | undefined;
  readonly #search: LatencyHistogram | undefined;
  readonly #searchRate: RateWindow | undefined;
  readonly #insertRate: RateWindow | undefined;
  readonly #opened = performance.now();
  #deletes = 0;

  /** Whether anything is measured at all (when false, callers skip reading the clock). */
  readonly enabled: boolean;

  constructor(store: string, index: string, options: MetricsOptions) {
    this.#attributes = { store, index };
    this.#onMetric = options.onMetric;
    const keep = options.metrics !== false;
    if (keep) {
      this.#search = new LatencyHistogram();
      this.#searchRate = new RateWindow();
      this.#insertRate = new RateWindow();
    }
    this.enabled = keep || this.#onMetric !== undefined;
  }

  #emit(name: MetricName, value: number, unit: MetricEvent["unit"], kind: MetricEvent["kind"], k?: number): void {
    const onMetric = this.#onMetric;
    if (!onMetric) return;
    try {
      onMetric({ name, value, unit, kind, attributes: k === undefined ? { ...this.#attributes } : { ...this.#attributes, k } });
    } catch {
      // Monitoring must never fail the operation it observes.
    }
  }

  /** One search took `ms`. */
  search(ms: number): void {
    this.#search?.record(ms);
    this.#searchRate?.add(1);
    if (this.#onMetric) {
      this.#emit("quiver.search.duration", ms, "ms", "histogram");
      this.#emit("quiver.search.count", 1, "{search}", "counter");
    }
  }

  /** One add/upsert of `items` items took `ms`. */
  insert(items: number, ms: number): void {
    this.#insertRate?.add(items);
    if (this.#onMetric) {
      this.#emit("quiver.insert.duration", ms, "ms", "histogram");
      this.#emit("quiver.insert.count", items, "{item}", "counter");
    }
  }

  /** `items` items were deleted. */
  delete(items: number): void {
    this.#deletes += items;
    this.#emit("quiver.delete.count", items, "{item}", "counter");
  }

  /** A recall@k was measured. */
  recall(recall: number, k: number): void {
    this.#emit("quiver.recall", recall, "1", "gauge", k);
  }

  /** The `stats()` view. */
  snapshot(): OperationStats {
    const now = performance.now();
    return {
      search: {
        count: this.#searchRate?.total ?? 0,
        qps: this.#searchRate?.rate(now) ?? 0,
        latencyMs: (this.#search ?? new LatencyHistogram()).summary(),
      },
      insert: { count: this.#insertRate?.total ?? 0, perSecond: this.#insertRate?.rate(now) ?? 0 },
      deletes: this.#deletes,
      windowSeconds: Math.min(RATE_WINDOW_SECONDS, (now - this.#opened) / 1000),
    };
  }
}
