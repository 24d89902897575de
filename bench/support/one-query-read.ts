// The floor for reading a project: a bare Hono route that finds the token's user, checks that
// they own the project or are a member of it, and reads the project, all in one statement. What
// the BFF costs beyond this (its middleware, validation and further statements) is what
// bench/bff-read.ts measures.
import { Hono } from "hono";
import { hashSecret } from "../../apps/bff/src/auth/credentials.ts";
import { type ProjectRow, type StoreDefaults, toProject } from "../../apps/bff/src/store/project-rows.ts";
import type { SqlClient } from "../../apps/bff/src/store/sql-client.ts";

export function oneQueryRead(sql: SqlClient, defaults: StoreDefaults): Hono {
  return new Hono().get("/api/v1/projects/:project_id", async (c) => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token) return c.json({ code: "unauthenticated" }, 401);
    const rows = await sql.query<ProjectRow>(
      `SELECT p.* FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         JOIN projects p ON p.id = $2
        WHERE t.token_hash = $1
          AND (p.owner_id = u.id
               OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = u.id))`,
      [hashSecret(token), c.req.param("project_id")],
    );
    const row = rows[0];
    return row ? c.json(toProject(row, defaults)) : c.json({ code: "project_not_found" }, 404);
  });
}
