// Users, their sessions, API tokens and login links, and who may see which project. Secrets are
// looked up by their hash only; a login link is spent by the same statement that finds it, so it
// works exactly once however many requests race for it.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import type { SqlClient } from "../store/sql-client.ts";
import { hashPassword, hashSecret, needsRehash, newSecret, verifyPassword } from "./credentials.ts";

export type User = components["schemas"]["User"];
type Member = components["schemas"]["Member"];
type Role = Member["role"];

export const sessionLifetimeDays = 30;
const loginLinkLifetimeHours = 24;

export class UserExistsError extends Error {}

export class AuthStore {
  constructor(private readonly sql: SqlClient) {}

  // --- users ---

  async createUser(name: string, password: string | null): Promise<User> {
    const hash = password === null ? null : await hashPassword(password);
    const rows = await this.sql.query<User>(
      `INSERT INTO users (id, name, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING RETURNING id, name`,
      [`usr_${randomUUID().replaceAll("-", "")}`, name, hash],
    );
    if (!rows[0]) throw new UserExistsError(`A user named ${name} exists already`);
    return rows[0];
  }

  async userByName(name: string): Promise<User | null> {
    const rows = await this.sql.query<User>("SELECT id, name FROM users WHERE name = $1", [name]);
    return rows[0] ?? null;
  }

  async listUsers(): Promise<User[]> {
    return this.sql.query<User>("SELECT id, name FROM users ORDER BY created_at, name");
  }

  async setPassword(userId: string, password: string): Promise<void> {
    await this.sql.query("UPDATE users SET password_hash = $2 WHERE id = $1", [userId, await hashPassword(password)]);
  }

  /** The user with this name and password, or null; both cases take as long. */
  async checkPassword(name: string, password: string): Promise<User | null> {
    const rows = await this.sql.query<User & { password_hash: string | null }>(
      "SELECT id, name, password_hash FROM users WHERE name = $1",
      [name],
    );
    const row = rows[0];
    const ok = await verifyPassword(password, row?.password_hash ?? null);
    if (!ok || !row) return null;
    // Made with older parameters: the password is at hand once, so the hash is made anew.
    if (row.password_hash && needsRehash(row.password_hash)) {
      await this.sql.query("UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3", [
        row.id,
        await hashPassword(password),
        row.password_hash,
      ]);
    }
    return { id: row.id, name: row.name };
  }

  // --- sessions, tokens and login links ---

  async createSession(userId: string): Promise<string> {
    const token = newSecret();
    await this.sql.query(
      `INSERT INTO sessions (token_hash, user_id, expires_at)
       VALUES ($1, $2, now() + make_interval(days => $3))`,
      [hashSecret(token), userId, sessionLifetimeDays],
    );
    return token;
  }

  async userBySession(token: string): Promise<User | null> {
    const rows = await this.sql.query<User>(
      `SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > now()`,
      [hashSecret(token)],
    );
    return rows[0] ?? null;
  }

  async endSession(token: string): Promise<void> {
    await this.sql.query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= now()", [hashSecret(token)]);
  }

  /** A new API token for the user; only its hash is kept, so this is the one time it is seen. */
  async createApiToken(userId: string, label: string): Promise<string> {
    const token = newSecret("pwc_");
    await this.sql.query("INSERT INTO api_tokens (token_hash, user_id, label) VALUES ($1, $2, $3)", [
      hashSecret(token),
      userId,
      label,
    ]);
    return token;
  }

  async userByApiToken(token: string): Promise<User | null> {
    const rows = await this.sql.query<User>(
      `WITH used AS (UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1 RETURNING user_id)
       SELECT u.id, u.name FROM used JOIN users u ON u.id = used.user_id`,
      [hashSecret(token)],
    );
    return rows[0] ?? null;
  }

  async revokeApiTokens(userId: string): Promise<number> {
    return (await this.sql.query("DELETE FROM api_tokens WHERE user_id = $1 RETURNING 1", [userId])).length;
  }

  async createLoginLink(userId: string): Promise<string> {
    const token = newSecret();
    await this.sql.query(
      `INSERT INTO login_links (token_hash, user_id, expires_at)
       VALUES ($1, $2, now() + make_interval(hours => $3))`,
      [hashSecret(token), userId, loginLinkLifetimeHours],
    );
    return token;
  }

  /** The link's user, once: the link is deleted by the statement that reads it. */
  async spendLoginLink(token: string): Promise<User | null> {
    const rows = await this.sql.query<User>(
      `WITH spent AS (DELETE FROM login_links WHERE token_hash = $1 RETURNING user_id, expires_at)
       SELECT u.id, u.name FROM spent JOIN users u ON u.id = spent.user_id WHERE spent.expires_at > now()`,
      [hashSecret(token)],
    );
    return rows[0] ?? null;
  }

  // --- projects: owners and members ---

  /** What the user is to the project: its owner, a member, or nothing (also when it does not exist). */
  async roleIn(projectId: string, userId: string): Promise<Role | null> {
    const rows = await this.sql.query<{ role: Role | null }>(
      `SELECT CASE WHEN p.owner_id = $2 THEN 'owner'
                   WHEN EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $2)
                   THEN 'member' END AS role
         FROM projects p WHERE p.id = $1`,
      [projectId, userId],
    );
    return rows[0]?.role ?? null;
  }

  async members(projectId: string): Promise<Member[]> {
    const rows = await this.sql.query<{ id: string; name: string; role: Role }>(
      `SELECT u.id, u.name, 'owner' AS role, 0 AS rank FROM projects p JOIN users u ON u.id = p.owner_id
        WHERE p.id = $1
       UNION ALL
       SELECT u.id, u.name, 'member' AS role, 1 AS rank FROM project_members m JOIN users u ON u.id = m.user_id
        WHERE m.project_id = $1
       ORDER BY rank, name`,
      [projectId],
    );
    return rows.map((row) => ({ user: { id: row.id, name: row.name }, role: row.role }));
  }

  /** Adds a member by name; adding one twice is the same as once. */
  async addMember(projectId: string, userName: string): Promise<"added" | "no_such_user" | "is_owner"> {
    const rows = await this.sql.query<{ outcome: "added" | "is_owner" }>(
      `WITH u AS (SELECT id FROM users WHERE name = $2),
            p AS (SELECT id, owner_id FROM projects WHERE id = $1),
            ins AS (
              INSERT INTO project_members (project_id, user_id)
              SELECT p.id, u.id FROM p, u WHERE p.owner_id IS DISTINCT FROM u.id
              ON CONFLICT DO NOTHING RETURNING 1)
       SELECT CASE WHEN p.owner_id = u.id THEN 'is_owner' ELSE 'added' END AS outcome FROM p, u`,
      [projectId, userName],
    );
    return rows[0]?.outcome ?? "no_such_user";
  }

  async removeMember(projectId: string, userName: string): Promise<boolean> {
    const rows = await this.sql.query(
      `DELETE FROM project_members m USING users u
        WHERE m.project_id = $1 AND m.user_id = u.id AND u.name = $2 RETURNING 1`,
      [projectId, userName],
    );
    return rows.length > 0;
  }

  /** Gives every project without an owner to this user; projects from before owners existed. */
  async adoptOwnerless(userId: string): Promise<number> {
    return (await this.sql.query("UPDATE projects SET owner_id = $1 WHERE owner_id IS NULL RETURNING 1", [userId]))
      .length;
  }
}
