/**
 * Storage keys as file names, shared by {@link FileStorage} (Node, Deno) and
 * {@link OPFSStorage} (browsers): a reversible escape that keeps file names portable.
 *
 * @packageDocumentation
 */

/**
 * A file name for `key`: lower-case letters, digits, `_` and `-` kept, every other UTF-8 byte as
 * `%XX`. Upper-case letters are escaped too, so keys differing only in case cannot collide on
 * case-insensitive file systems. `.` is kept (except as the first character, so no name is `.`,
 * `..` or hidden) unless `escapeDots`, which keeps every name we write free of dots, so that
 * names with a dot (the browser's swap files) are recognizably not ours.
 */
export function keyToFileName(key: string, escapeDots = false): string {
  let out = "";
  for (const byte of new TextEncoder().encode(key)) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9_-]/.test(c) || (c === "." && !escapeDots && out.length > 0) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The key whose file name is `name`, or `undefined` for a name that is not an escaped key. */
export function fileNameToKey(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}
