// Command-line parsing for the bench scripts: each call removes what it reads from `args`, so
// what is left is the positional arguments.

/** `option("--name", fallback)` reads `--name value`; `flag("--name")` reads a bare `--name`. */
export function argParser(args) {
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args.splice(at, 2)[1] : fallback;
  };
  const flag = (name) => {
    const at = args.indexOf(name);
    return at >= 0 ? (args.splice(at, 1), true) : false;
  };
  return { option, flag };
}
