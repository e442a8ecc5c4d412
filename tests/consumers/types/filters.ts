// Type tests of the filter language's declarations (docs/filters.md), compiled (never run) by
// `tsc --noEmit` with usage.ts. Every `good` filter must compile; every `@ts-expect-error` line
// is a malformed filter the type rejects (an unused directive fails, so a type that became too
// loose fails this test). What the type cannot catch (forbidden keys, empty `$or`, an operator
// nested in a containment pattern) is rejected at run time, see tests/package/filter.test.mjs.
import { VectorStore, type FieldFilter, type Filter, type FilterValue } from "quiver-vectors";

export const good: Filter[] = [
  {},
  { category: "book" },
  { tags: "rust" },
  { tags: ["rust", "wasm"] },
  { meta: { lang: "en" } },
  { "meta.lang": "en" },
  { year: { $gte: 2015, $lt: 2020 } },
  { title: { $gt: "m" } },
  { lang: { $in: ["en", "de"] }, n: { $nin: [1, 2, null] } },
  { draft: { $exists: false } },
  { v: null },
  { v: { $eq: ["a", "b"] } },
  { v: { $eq: { x: 1 } } },
  { v: { $ne: true } },
  { v: { $not: { $gt: 3 } } },
  { $and: [{ a: 1 }, { b: { $lt: 2 } }] },
  { $or: [{ a: 1 }, { $not: { b: 2 } }] },
  { $not: { a: 1 } },
  { a: 1, $or: [{ b: 2 }] },
];
const built: Filter[] = ["a", "b"].map((tag) => ({ tags: tag }));
export const dynamic: Filter = { $or: built };
const op: FieldFilter = { $gte: 1 };
export const withOp: Filter = { year: op };
const v: FilterValue = { deep: [1, { x: "y" }] };
export const withValue: Filter = { doc: v };

export const bad: Filter[] = [
  // @ts-expect-error unknown operator at filter level
  { $where: "this.a > 1" },
  // @ts-expect-error a field operator without a field
  { $eq: 1 },
  // @ts-expect-error unknown field operator
  { year: { $regex: "^19" } },
  // @ts-expect-error unknown field operator
  { tags: { $size: 2 } },
  // @ts-expect-error comparisons take a number or a string
  { a: { $gt: true } },
  // @ts-expect-error comparisons take a number or a string
  { a: { $gte: null } },
  // @ts-expect-error comparisons take a number or a string
  { a: { $lt: [1] } },
  // @ts-expect-error $in takes an array
  { a: { $in: "x" } },
  // @ts-expect-error $exists takes a boolean
  { a: { $exists: 1 } },
  // @ts-expect-error $and takes an array
  { $and: { a: 1 } },
  // @ts-expect-error $not at filter level takes a filter object
  { $not: [{ a: 1 }] },
  // @ts-expect-error $not on a field takes an operator object
  { a: { $not: 5 } },
  // @ts-expect-error an operator inside a value
  { a: { $in: [{ $gt: 1 }] } },
  // @ts-expect-error values are JSON
  { a: () => 1 },
  // @ts-expect-error values are JSON
  { a: undefined as unknown as symbol },
];

export async function inSearch(store: VectorStore<{ category: string; tags: string[] }>): Promise<void> {
  await store.search({ vector: [1, 2, 3], k: 5, filter: { category: "book", tags: "rust" } });
  await store.search({ vector: [1, 2, 3], k: 5, filter: { $or: [{ category: "book" }, { year: { $lt: 2000 } }] } });
  // @ts-expect-error unknown operator
  await store.search({ vector: [1, 2, 3], k: 5, filter: { year: { $between: [1, 2] } } });
}
