// The crash test's writes as a pure function of (seed, base, step), shared by the page that
// writes and the test that checks, so the checker knows every step without trusting logs.
export function crashStep(seed, base, step) {
  let rng = (seed ^ Math.imul(step + 1, 0x9e3779b1)) >>> 0;
  const random = (n) => {
    rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
    return rng % n;
  };
  const first = base + step * 100;
  const added = Array.from({ length: 1 + random(40) }, (_, k) => first + k);
  // Every third step deletes the first item of the previous step.
  const deleted = step % 3 === 1 ? [base + (step - 1) * 100] : [];
  return { added, deleted };
}
