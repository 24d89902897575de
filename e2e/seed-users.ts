// Gives a BFF data directory the e2e users, with passwords and API tokens, before the BFF opens
// it (PGlite's directory is one process's at a time).   tsx e2e/seed-users.ts <data dir>
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { AuthStore } from "../apps/bff/src/auth/auth-store.ts";
import { openDatabase } from "../apps/bff/src/services.ts";
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
} finally {
  await sql.close();
}
