// The sandbox service as a developer who is not root starts it (`npm start`), for tests that run
// as root: every module of the service is loaded first, while the process is still root (the
// repository may be closed to that user, as a fresh clone in a private directory is), then the
// process becomes the user whose ID is SANDBOX_TEST_SERVICE_UID (its group of the same ID, no
// others), and only then does the service start.
import { chmodSync, copyFileSync } from "node:fs";
import path from "node:path";
import { startSandbox } from "../../src/main.ts";

// The service runs Node's own binary as a tool (the manifest's hashing). Started as root here,
// that binary may lie where the user cannot reach it (npx's cache under /root, as the runs on
// other Node versions use); a developer's own Node is always theirs to run. So the user gets a
// copy of it beside the service's root (in the test's directory, removed with it).
const reachableNode = path.join(path.dirname(process.env.SANDBOX_ROOT ?? "."), `node-${process.pid}`);
copyFileSync(process.execPath, reachableNode);
chmodSync(reachableNode, 0o755);
process.execPath = reachableNode;

const uid = Number(process.env.SANDBOX_TEST_SERVICE_UID);
if (!Number.isInteger(uid) || uid <= 0) throw new Error("SANDBOX_TEST_SERVICE_UID must name a user that is not root");
if (!process.setgroups || !process.setgid || !process.setuid) throw new Error("a POSIX system is needed");
process.setgroups([]);
process.setgid(uid);
process.setuid(uid);
await startSandbox();
