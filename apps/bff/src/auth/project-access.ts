// Who may do what to a project, in one place:
//   owner    sees it and changes it (settings, builds, stops, deletes, members, webhook secret);
//   member   sees it (status, builds, logs, members) but changes nothing: 403 owner_only;
//   stranger gets 404, the same answer as for a project that does not exist, so a project's
//            existence is never leaked.
// Every route under /projects/{project_id} passes here before its handler runs.
import { isValidId } from "@prewarm/api-types/contract";
import { invalidId } from "@prewarm/service-kit/problem";
import type { Context, MiddlewareHandler } from "hono";
import { ownerOnly, projectNotFound } from "../problems.ts";
import type { ProjectRow } from "../store/project-rows.ts";
import type { AuthStore, Role } from "./auth-store.ts";

const readMethods = new Set(["GET", "HEAD"]);

export function projectAccess(auth: AuthStore): MiddlewareHandler {
  return async (c, next) => {
    const projectId = c.req.param("project_id");
    if (!isValidId(projectId)) throw invalidId("project_id");
    const role = await roleIn(c, auth, projectId);
    if (role === null) throw projectNotFound(projectId);
    if (role !== "owner" && !readMethods.has(c.req.method)) throw ownerOnly();
    return next();
  };
}

/**
 * The user's role in the project, as read with the user for this request (authenticate.ts), or
 * read now for a path authenticate.ts did not take for a project's.
 */
async function roleIn(c: Context, auth: AuthStore, projectId: string): Promise<Role | null> {
  const known = c.get("projectAccess");
  return known?.projectId === projectId ? known.role : auth.roleIn(projectId, c.get("user").id);
}

/** The project as read with this request's access check, when it was; handlers need not read it again. */
export function projectReadWithAccess(c: Context, projectId: string): ProjectRow | null {
  const access = c.get("projectAccess");
  return access?.projectId === projectId ? access.project : null;
}
