// A user with an API token, made straight in the BFF's database, for tests and benchmarks that
// run the BFF as a process: PGlite's directory before the BFF opens it, or a PostgreSQL server.
import { AuthStore } from "../src/auth/auth-store.ts";
import { openDatabase } from "../src/services.ts";

/** A user of the test BFF, with an API token to act as them. */
export interface TestUser {
  id: string;
  name: string;
  token: string;
}

/** Makes a user with an API token in the store of a BFF that is not running yet (or on a shared server). */
export async function seedUser(
  target: { dataDir?: string; databaseUrl?: string },
  name = "owner",
  options: { operator?: boolean } = {},
): Promise<TestUser> {
  const sql = await openDatabase({ databaseUrl: target.databaseUrl ?? null, dataDir: target.dataDir ?? "" });
  try {
    const auth = new AuthStore(sql);
    const user = (await auth.userByName(name)) ?? (await auth.createUser(name, null));
    if (options.operator) await auth.setOperator(user.id, true);
    return { ...user, token: await auth.createApiToken(user.id, "test") };
  } finally {
    await sql.close();
  }
}
