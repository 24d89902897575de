// The operator API of the fleet: list, add, drain or reactivate, and remove sandbox hosts.
// Access is decided before these handlers run (auth/operator-access.ts); changes are audited,
// and every BFF process on the database takes them up (sandbox/fleet.ts).
import type { components } from "@prewarm/api-types/bff";
import { loadContract } from "@prewarm/api-types/contract";
import { ProblemError } from "@prewarm/service-kit/problem";
import { jsonBody } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { validator } from "hono/validator";
import { audit } from "../../audit.ts";
import type { AppDeps } from "../../deps.ts";
import type { Fleet } from "../../sandbox/fleet.ts";
import { hostLabelPattern, hostLabelRule, type SandboxHostRow } from "../../store/sandbox-hosts.ts";

type Schemas = components["schemas"];
const contract = loadContract("bff");

const labelParam = validator("param", (value: Record<string, string>) => {
  const label = value.label ?? "";
  if (!hostLabelPattern.test(label)) {
    throw new ProblemError(400, "invalid_label", `label must be ${hostLabelRule}`, [
      { path: "label", message: "is not a valid host label" },
    ]);
  }
  return { label };
});

function hostNotFound(label: string): ProblemError {
  return new ProblemError(404, "host_not_found", `No sandbox host labelled ${label}`);
}

/** The host as operators see it: never its token, and its reachability as this process sees it. */
export function asSandboxHost(row: SandboxHostRow, fleet: Fleet): Schemas["SandboxHost"] {
  const health = fleet.get(row.id)?.health.status();
  return {
    label: row.label,
    url: row.url,
    state: row.state,
    has_token: row.token !== null,
    from_environment: row.from_environment,
    added_at: row.added_at,
    reachable: health?.reachable ?? true,
    since: health?.since ?? row.added_at,
    detail: health?.detail ?? null,
  };
}

export function sandboxHostRoutes({ sandboxHosts, fleet, logger }: AppDeps) {
  return new Hono()
    .get("/sandboxes", async (c) =>
      c.json({
        hosts: (await sandboxHosts.list()).map((row) => asSandboxHost(row, fleet)),
      } satisfies Schemas["SandboxHostList"]),
    )
    .post("/sandboxes", jsonBody<Schemas["AddSandboxHostRequest"]>(contract, "addSandboxHost"), async (c) => {
      const body = c.req.valid("json");
      const added = await sandboxHosts.add({ ...body, token: body.token ?? null });
      if (added === "label_taken") {
        throw new ProblemError(409, "label_taken", `A sandbox host is labelled ${body.label} already`);
      }
      if (added === "url_taken")
        throw new ProblemError(409, "url_taken", `A sandbox host has the URL ${body.url} already`);
      if (added === "bad_url") {
        throw new ProblemError(
          400,
          "invalid_url",
          "url must be an http or https URL without user, password, query or fragment",
          [{ path: "/url", message: "is not a service's URL" }],
        );
      }
      // Taken up by this process before answering, so its next request sees the host.
      await fleet.reload();
      audit(logger, c, "sandbox_host_added", { label: added.label, url: added.url, state: added.state });
      return c.json(asSandboxHost(added, fleet), 201);
    })
    .patch(
      "/sandboxes/:label",
      labelParam,
      jsonBody<Schemas["UpdateSandboxHostRequest"]>(contract, "updateSandboxHost"),
      async (c) => {
        const { label } = c.req.valid("param");
        const { state } = c.req.valid("json");
        const updated = await sandboxHosts.setState(label, state);
        if (!updated) throw hostNotFound(label);
        await fleet.reload();
        audit(logger, c, "sandbox_host_changed", { label, state });
        return c.json(asSandboxHost(updated, fleet));
      },
    )
    .delete("/sandboxes/:label", labelParam, async (c) => {
      const { label } = c.req.valid("param");
      const outcome = await sandboxHosts.remove(label);
      if (outcome === "not_found") throw hostNotFound(label);
      if (outcome === "busy") {
        throw new ProblemError(
          409,
          "host_busy",
          `A build runs on ${label}; drain it and let the build end, or stop it, first.`,
        );
      }
      if (outcome === "from_environment") {
        throw new ProblemError(
          409,
          "host_from_environment",
          `${label} is SANDBOX_URL's host; empty SANDBOX_URL and restart to remove it.`,
        );
      }
      await fleet.reload();
      audit(logger, c, "sandbox_host_removed", { label });
      return c.body(null, 204);
    });
}
