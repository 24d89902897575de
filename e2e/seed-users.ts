// Gives a BFF data directory the e2e users, with passwords and API tokens, before the BFF opens
// it (PGlite's directory is one process's at a time).   tsx e2e/seed-users.ts <data dir>
// E2E_SANDBOXES="label=url,...": sandbox hosts registered besides SANDBOX_URL's, as an operator would.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { AuthStore } from "../apps/bff/src/auth/auth-store.ts";
import { loadSecretKey, SecretBox } from "../apps/bff/src/auth/secret-box.ts";
import { openDatabase } from "../apps/bff/src/services.ts";
import { SandboxHosts } from "../apps/bff/src/store/sandbox-hosts.ts";
import { type E2eUser, tokensFile, users } from "./users.ts";

const dataDir = path.resolve(process.argv[2] ?? "");
const sql = await openDatabase({ databaseUrl: null, dataDir });
try {
  const auth = new AuthStore(sql);
  const tokens = {} as Record<E2eUser, string>;
  for (const [key, { name, password }] of Object.entries(users) as [E2eUser, { name: string; password: string }][]) {
    const user = await auth.createUser(name, password);
    tokens[key] = await auth.createApiToken(user.id, "e2e");
  }
  await writeFile(tokensFile(dataDir), JSON.stringify(tokens));
  const hosts = new SandboxHosts(sql, new SecretBox(await loadSecretKey({ keyBase64: null, dataDir })));
  for (const entry of (process.env.E2E_SANDBOXES ?? "").split(",").filter(Boolean)) {
    const [label = "", url = ""] = entry.split("=");
    const added = await hosts.add({ label, url, token: null });
    if (typeof added === "string") throw new Error(`could not add the sandbox host ${entry}: ${added}`);
  }
} finally {
  await sql.close();
}
