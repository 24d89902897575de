// Who can see a project. The owner adds and removes members; members and the owner see the list.
// Access itself is decided before these handlers run (auth/project-access.ts).
import type { components } from "@prewarm/api-types/bff";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { validator } from "hono/validator";
import { audit } from "../../audit.ts";
import { isValidUserName, userNameRule } from "../../auth/user-name.ts";
import type { AppDeps } from "../../deps.ts";

type Schemas = components["schemas"];

// The project ID was checked by the access check already; this adds the user name.
const memberParams = validator("param", (value: Record<string, string>) => {
  const name = value.user_name ?? "";
  if (!isValidUserName(name)) {
    throw new ProblemError(400, "invalid_user_name", `user_name must be ${userNameRule}`, [
      { path: "user_name", message: "is not a valid user name" },
    ]);
  }
  return { project_id: value.project_id ?? "", user_name: name };
});

export function memberRoutes({ auth, logger }: AppDeps) {
  const list = async (projectId: string) =>
    ({ members: await auth.members(projectId) }) satisfies Schemas["MemberList"];
  return new Hono()
    .get("/:project_id/members", idParams("project_id"), async (c) =>
      c.json(await list(c.req.valid("param").project_id)),
    )
    .put("/:project_id/members/:user_name", memberParams, async (c) => {
      const { project_id, user_name } = c.req.valid("param");
      const outcome = await auth.addMember(project_id, user_name);
      if (outcome === "no_such_user") throw new ProblemError(404, "user_not_found", `No user named ${user_name}`);
      if (outcome === "is_owner") {
        throw new ProblemError(409, "already_owner", `${user_name} owns this project; an owner is not also a member.`);
      }
      audit(logger, c, "member_added", { project_id, member: user_name });
      return c.json(await list(project_id));
    })
    .delete("/:project_id/members/:user_name", memberParams, async (c) => {
      const { project_id, user_name } = c.req.valid("param");
      if (!(await auth.removeMember(project_id, user_name))) {
        throw new ProblemError(404, "member_not_found", `${user_name} is not a member of this project`);
      }
      audit(logger, c, "member_removed", { project_id, member: user_name });
      return c.json(await list(project_id));
    });
}
