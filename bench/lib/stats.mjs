// Small statistics helpers shared by the benchmark processes.

export function median(values) {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (q in [0, 1]) of a list of numbers. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function round(x, digits = 3) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Round to `digits` significant figures (for ratios and rates spanning magnitudes). */
export function sig(x, digits = 3) {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}
