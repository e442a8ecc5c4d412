/**
 * Splitting long documents into passages that fit the model's window, with overlap. Nothing is
 * ever dropped or truncated: every sentence of the input is in at least one passage, and a
 * sentence (or even a single "word", such as a long URL) that alone exceeds the window is split
 * into pieces that fit.
 *
 * Why sentences, then words, then characters: retrieval works on passages that read as units,
 * so passages break at sentence ends where they can; the finer splits are only for text that
 * has no sentence boundary within the window.
 *
 * @packageDocumentation
 */
import { quiverError } from "../errors.js";

/** Options of {@link chunkText}. */
export interface ChunkOptions {
  /**
   * Largest passage in tokens, special tokens included (default 128, the length
   * all-MiniLM-L6-v2 was trained on; capped by the model's window).
   */
  chunkTokens?: number | undefined;
  /** Tokens of the end of one passage repeated at the start of the next (default 16). */
  overlapTokens?: number | undefined;
  /**
   * Counts the model's tokens of a text (special tokens included). Defaults to an estimate of
   * 4 tokens per 3 words plus 2, which over-counts English prose for WordPiece models; pass the
   * embedder's `countTokens` for exact passages.
   */
  countTokens?: ((text: string) => number | Promise<number>) | undefined;
}

/** The default passage size in tokens. */
export const DEFAULT_CHUNK_TOKENS = 128;
/** The default overlap in tokens. */
export const DEFAULT_OVERLAP_TOKENS = 16;

/** An estimate for embedders without a tokenizer: 4 tokens per 3 words, plus [CLS] and [SEP]. */
export function estimateTokens(text: string): number {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  let pieces = 0;
  // Long words (identifiers, URLs) split into several word pieces: count one per 6 characters.
  for (const w of words) pieces += Math.max(1, Math.ceil(w.length / 6));
  return Math.ceil((Math.max(words.length * 4, pieces * 3)) / 3) + 2;
}

type SentenceSplitter = (paragraph: string) => string[];

function sentenceSplitter(): SentenceSplitter {
  const Segmenter = (Intl as unknown as { Segmenter?: new (locale: string, options: { granularity: string }) => { segment(text: string): Iterable<{ segment: string }> } }).Segmenter;
  if (Segmenter) {
    const segmenter = new Segmenter("en", { granularity: "sentence" });
    return (paragraph) => [...segmenter.segment(paragraph)].map((s) => s.segment.trim()).filter((s) => s.length > 0);
  }
  return (paragraph) => paragraph.split(/(?<=[.!?])\s+/).map((s) => s.trim()).filter((s) => s.length > 0);
}

function checkTokenOption(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min) throw quiverError("invalid_argument", `${name} must be an integer of at least ${min}, got ${String(value)}`);
  return value as number;
}

/**
 * Splits `text` into passages of at most `chunkTokens` tokens (by `countTokens`), breaking at
 * paragraph and sentence ends, with about `overlapTokens` of overlap. Returns `[]` for text
 * that is empty or only whitespace.
 */
export async function chunkText(text: string, options: ChunkOptions = {}): Promise<string[]> {
  if (typeof text !== "string") throw quiverError("invalid_argument", `text must be a string, got ${typeof text}`);
  const chunkTokens = checkTokenOption(options.chunkTokens, "chunkTokens", DEFAULT_CHUNK_TOKENS, 8);
  const overlapTokens = checkTokenOption(options.overlapTokens, "overlapTokens", DEFAULT_OVERLAP_TOKENS, 0);
  if (overlapTokens >= chunkTokens / 2) throw quiverError("invalid_argument", `overlapTokens (${overlapTokens}) must be under half of chunkTokens (${chunkTokens})`);
  const count = options.countTokens ?? estimateTokens;
  const fits = async (s: string) => (await count(s)) <= chunkTokens;

  // Units: sentences that fit, with the ones that do not cut into word runs (and words into
  // character runs) that do.
  const split = sentenceSplitter();
  const units: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    for (const sentence of split(paragraph.replace(/\s+/g, " "))) {
      if (await fits(sentence)) units.push(sentence);
      else units.push(...(await splitToFit(sentence, fits)));
    }
  }

  const passages: string[] = [];
  let current: string[] = [];
  for (const unit of units) {
    if (current.length > 0 && (await fits([...current, unit].join(" ")))) {
      current.push(unit);
      continue;
    }
    if (current.length > 0) {
      passages.push(current.join(" "));
      current = await overlapTail(current, unit, overlapTokens, count, fits);
    }
    current.push(unit);
  }
  if (current.length > 0) passages.push(current.join(" "));
  return passages;
}

/** The last units of `previous` that fit in `overlapTokens` and still leave room for `next`. */
async function overlapTail(previous: string[], next: string, overlapTokens: number, count: (s: string) => number | Promise<number>, fits: (s: string) => Promise<boolean>): Promise<string[]> {
  if (overlapTokens === 0) return [];
  const tail: string[] = [];
  for (let i = previous.length - 1; i >= 0; i--) {
    const candidate = [previous[i]!, ...tail];
    // count() includes the two special tokens, which an overlap does not add.
    if ((await count(candidate.join(" "))) - 2 > overlapTokens) break;
    if (!(await fits([...candidate, next].join(" ")))) break;
    tail.unshift(previous[i]!);
  }
  return tail;
}

/** Cuts a sentence that is over the limit into word runs that fit; words over it into characters. */
async function splitToFit(sentence: string, fits: (s: string) => Promise<boolean>): Promise<string[]> {
  const pieces: string[] = [];
  let run: string[] = [];
  for (const word of sentence.split(" ")) {
    if (run.length > 0 && (await fits([...run, word].join(" ")))) {
      run.push(word);
      continue;
    }
    if (run.length > 0) pieces.push(run.join(" "));
    run = [];
    if (await fits(word)) {
      run.push(word);
      continue;
    }
    // A single word over the window: take the longest prefix that fits, repeatedly.
    let rest = word;
    while (rest.length > 0) {
      let lo = 1;
      let hi = rest.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (await fits(rest.slice(0, mid))) lo = mid;
        else hi = mid - 1;
      }
      // Never split inside a UTF-16 surrogate pair.
      let cut = lo;
      const code = rest.charCodeAt(cut - 1);
      if (cut < rest.length && code >= 0xd800 && code <= 0xdbff && cut > 1) cut -= 1;
      pieces.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
  }
  if (run.length > 0) pieces.push(run.join(" "));
  return pieces;
}

/**
 * Decodes a file's bytes as UTF-8 (a leading byte-order mark is dropped), rejecting bytes that
 * are not UTF-8 with `invalid_argument` naming the file and the offset, rather than storing
 * replacement characters the user never wrote.
 */
export function decodeUtf8(bytes: ArrayBuffer | ArrayBufferView, name = "the file"): string {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(view);
  } catch {
    // Find the first bad offset for the message: decode growing prefixes is quadratic, so
    // validate by hand instead.
    throw quiverError("invalid_argument", `${name} is not UTF-8 text (first invalid byte at offset ${firstInvalidUtf8(view)}); save it as UTF-8 and add it again`);
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const extra = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (extra < 0) return i;
    for (let k = 1; k <= extra; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += extra + 1;
  }
  return i;
}
