// Headless Chromium as every browser test and benchmark here launches it: Debian's chromium, and
// the flags this network needs (background networking off, or Chromium's connections are
// refused many at a time; no GPU; no sandbox as root).
export const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const chromiumArgs = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];
