// Hashes files for tree-manifest.ts, which runs this text with `node --eval`: reads NUL-ended
// paths on stdin and writes "<sha256> <path>\0" for each, in any order. A program of its own, so
// that it runs wherever the service's daemons' files are reachable (see daemon-files.ts), with
// Node's SHA-256 (which uses the CPU's SHA instructions; coreutils' sha256sum does not).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";

// Reads at once: small files are most of a Docker data root, and waiting on each in turn
// would leave the disk idle.
const reading = 8;
const wholeFileBytes = 4 << 20;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const paths = Buffer.concat(chunks)
  .toString("utf8")
  .split("\0")
  .filter((name) => name !== "");

async function hashFile(name) {
  if ((await stat(name)).size <= wholeFileBytes)
    return createHash("sha256")
      .update(await readFile(name))
      .digest("hex");
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(name, { highWaterMark: 1 << 20 })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

let next = 0;
async function worker() {
  while (next < paths.length) {
    const name = paths[next++];
    const digest = await hashFile(name);
    if (!process.stdout.write(`${digest} ${name}\0`)) await new Promise((done) => process.stdout.once("drain", done));
  }
}
await Promise.all(Array.from({ length: reading }, worker));
