// The sandbox service as a developer who is not root starts it (`npm start`), for tests that run
// as root: every module of the service is loaded first, while the process is still root (the
// repository may be closed to that user, as a fresh clone in a private directory is), then the
// process becomes the user whose ID is SANDBOX_TEST_SERVICE_UID (its group of the same ID, no
// others), and only then does the service start.
import { startSandbox } from "../../src/main.ts";

const uid = Number(process.env.SANDBOX_TEST_SERVICE_UID);
if (!Number.isInteger(uid) || uid <= 0) throw new Error("SANDBOX_TEST_SERVICE_UID must name a user that is not root");
if (!process.setgroups || !process.setgid || !process.setuid) throw new Error("a POSIX system is needed");
process.setgroups([]);
process.setgid(uid);
process.setuid(uid);
await startSandbox();
