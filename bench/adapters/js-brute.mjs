// Plain-JS brute force: what a careful JS developer would write without WebAssembly. A
// row-major Float32Array, a dot (or squared L2) loop with four independent accumulators, and
// a bounded top-k (a sorted insertion buffer of k entries, ties by smaller index). Cosine
// vectors are normalized once at build, like Quiver does.

function normalize(data, dim) {
  for (let o = 0; o < data.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) data[o + j] *= inv;
  }
}

export async function create({ dim, metric }) {
  let rows = null;
  let n = 0;
  const query = new Float32Array(dim);
  const l2 = metric === "l2";
  const d4 = dim & ~3;

  function distance(offset) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    if (l2) {
      for (; j < d4; j += 4) {
        const x0 = query[j] - rows[offset + j];
        const x1 = query[j + 1] - rows[offset + j + 1];
        const x2 = query[j + 2] - rows[offset + j + 2];
        const x3 = query[j + 3] - rows[offset + j + 3];
        a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3;
      }
      for (; j < dim; j++) { const x = query[j] - rows[offset + j]; a0 += x * x; }
      return a0 + a1 + a2 + a3;
    }
    for (; j < d4; j += 4) {
      a0 += query[j] * rows[offset + j];
      a1 += query[j + 1] * rows[offset + j + 1];
      a2 += query[j + 2] * rows[offset + j + 2];
      a3 += query[j + 3] * rows[offset + j + 3];
    }
    for (; j < dim; j++) a0 += query[j] * rows[offset + j];
    return -(a0 + a1 + a2 + a3);
  }

  return {
    library: "js-brute",
    version: process.versions.node,
    async build(base) {
      rows = Float32Array.from(base.data);
      n = base.rows;
      if (metric === "cosine") normalize(rows, dim);
      return { memoryBytes: rows.byteLength };
    },
    search(q, k) {
      query.set(q);
      if (metric === "cosine") normalize(query, dim);
      k = Math.min(k, n);
      const topDist = new Float64Array(k).fill(Infinity);
      const topId = new Int32Array(k).fill(-1);
      let worst = Infinity;
      for (let r = 0, offset = 0; r < n; r++, offset += dim) {
        const d = distance(offset);
        // Rows arrive in index order, so `<` keeps the smaller index on ties.
        if (d < worst) {
          let i = k - 1;
          while (i > 0 && topDist[i - 1] > d) {
            topDist[i] = topDist[i - 1];
            topId[i] = topId[i - 1];
            i--;
          }
          topDist[i] = d;
          topId[i] = r;
          worst = topDist[k - 1];
        }
      }
      return Array.from(topId);
    },
  };
}
