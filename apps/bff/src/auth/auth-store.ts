// Users, their sessions, API tokens and login links, and who may see which project. Secrets are
// looked up by their hash only; a login link is spent by the same statement that finds it, so it
// works exactly once however many requests race for it. Who makes a request, and what they are
// to the project it is about, are read afresh for every request, in one statement.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import type { ProjectRow } from "../store/project-rows.ts";
import type { SqlClient } from "../store/sql-client.ts";
import { hashPassword, hashSecret, needsRehash, newSecret, verifyPassword } from "./credentials.ts";

export type User = components["schemas"]["User"];
type Member = components["schemas"]["Member"];
export type Role = Member["role"];

export const sessionLifetimeDays = 30;
const loginLinkLifetimeHours = 24;

/** What a request proves who makes it with: a session cookie or an API token. */
export interface Credential {
  kind: "session" | "token";
  secret: string;
}

/** What a user is to the project a request is about, read with the user. */
export interface ProjectAccess {
  projectId: string;
  /** Null for a stranger, and for a project that does not exist. */
  role: Role | null;
  /** The project as read in the same statement; only when the user may see it. */
  project: ProjectRow | null;
}

export interface Requester {
  user: User;
  /** Null when the request is about no project. */
  access: ProjectAccess | null;
}

// A token's last use is kept to the minute, not to the request: nothing reads it more finely
// than "when was this token last used", and writing it at every request would cost a write (on
// a server, a commit) per read.
const lastUseResolution = "1 minute";

/** The role of the user `userId` (an SQL expression) in the project `p`: owner, member, or null for a stranger. */
function roleInProject(userId: string): string {
  return `CASE WHEN p.owner_id = ${userId} THEN 'owner'
               WHEN EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = ${userId})
               THEN 'member' END`;
}

/**
 * Finds the user by a credential's hash ($1) and, about a project ($2), their role in it and the
 * project itself, so that a request is authenticated and authorized with one statement.
 * `last_use_stale` tells when a token's last use is to be written. Four fixed texts: a request
 * about no project does without the join, which would cost it half again.
 */
function requesterStatement(kind: Credential["kind"], aboutProject: boolean): string {
  const [credentials, valid, lastUseStale] =
    kind === "token"
      ? ["api_tokens", "c.token_hash = $1", `c.last_used_at < now() - interval '${lastUseResolution}'`]
      : ["sessions", "c.token_hash = $1 AND c.expires_at > now()", "false"];
  return aboutProject
    ? `SELECT u.id, u.name, ${lastUseStale} AS last_use_stale, ${roleInProject("u.id")} AS role, to_jsonb(p) AS project
         FROM ${credentials} c JOIN users u ON u.id = c.user_id LEFT JOIN projects p ON p.id = $2
        WHERE ${valid}`
    : `SELECT u.id, u.name, ${lastUseStale} AS last_use_stale
         FROM ${credentials} c JOIN users u ON u.id = c.user_id
        WHERE ${valid}`;
}

const requesterStatements = {
  session: { project: requesterStatement("session", true), none: requesterStatement("session", false) },
  token: { project: requesterStatement("token", true), none: requesterStatement("token", false) },
};

export class UserExistsError extends Error {}

export class AuthStore {
  private readonly sql: SqlClient;

  constructor(sql: SqlClient) {
    this.sql = sql;
  }

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

  /** Whether the user runs the sandbox hosts (decision 018): nothing to do with any project. */
  async isOperator(userId: string): Promise<boolean> {
    const rows = await this.sql.query<{ operator: boolean }>("SELECT operator FROM users WHERE id = $1", [userId]);
    return rows[0]?.operator === true;
  }

  async setOperator(userId: string, operator: boolean): Promise<void> {
    await this.sql.query("UPDATE users SET operator = $2 WHERE id = $1", [userId, operator]);
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
    return (await this.requester({ kind: "session", secret: token }, null))?.user ?? null;
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

  /**
   * Who presents the credential (null: nobody, or an expired session) and, when `projectId` is
   * given, what they are to that project, in one statement. Nothing of it is kept beyond the
   * call: a revoked token, an ended session or a removed member is refused at the next request.
   */
  async requester(credential: Credential, projectId: string | null): Promise<Requester | null> {
    const hash = hashSecret(credential.secret);
    const statements = requesterStatements[credential.kind];
    const rows = await this.sql.query<
      User & { last_use_stale: boolean | null; role?: Role | null; project?: ProjectRow | null }
    >(projectId === null ? statements.none : statements.project, projectId === null ? [hash] : [hash, projectId]);
    const row = rows[0];
    if (!row) return null;
    // Null: never used before.
    if (row.last_use_stale !== false) {
      await this.sql.query("UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1", [hash]);
    }
    const role = row.role ?? null;
    return {
      user: { id: row.id, name: row.name },
      // A stranger's read of the project ends here: only a role lets the project out of this call.
      access: projectId === null ? null : { projectId, role, project: role === null ? null : (row.project ?? null) },
    };
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
      `SELECT ${roleInProject("$2")} AS role FROM projects p WHERE p.id = $1`,
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
