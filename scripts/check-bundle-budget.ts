// The settings page's first-load JavaScript, as a browser fetches it: the entry script and every
// module index.html preloads, gzip-compressed. Fails above the budget, so a change that makes
// the first visit heavier is noticed in the test run. Everything else (terminal, editor,
// charts, dialogs) is loaded when needed and not counted.
//   tsx scripts/check-bundle-budget.ts [dist dir]
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

export const budgetBytes = 150_000;

const dist = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, "..", "apps", "web", "dist"));
const html = readFileSync(path.join(dist, "index.html"), "utf8");
const files = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((match) => match[1] ?? "");
if (files.length === 0) throw new Error(`${dist}/index.html loads no module script`);

let total = 0;
for (const file of files) {
  const bytes = gzipSync(readFileSync(path.join(dist, file.replace(/^\//, ""))), { level: 9 }).byteLength;
  total += bytes;
  console.log(`${(bytes / 1000).toFixed(1).padStart(7)} kB  ${file}`);
}
const verdict = total <= budgetBytes ? "within" : "OVER";
console.log(
  `${(total / 1000).toFixed(1).padStart(7)} kB  first-load JavaScript, gzip (${verdict} the ${budgetBytes / 1000} kB budget)`,
);
if (total > budgetBytes) process.exit(1);
