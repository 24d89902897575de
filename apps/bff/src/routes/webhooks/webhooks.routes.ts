// Git host webhooks: a project's secret, and the deliveries it verifies. Nothing of a delivery is
// parsed before its signature checks out.
import { randomBytes } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import { ProblemError } from "@prewarm/service-kit/problem";
import { idParams } from "@prewarm/service-kit/request-body";
import { Hono } from "hono";
import { audit } from "../../audit.ts";
import type { AppDeps } from "../../deps.ts";
import { interpretGithubEvent, verifySignature } from "../../docker-cache/github-webhook.ts";
import { projectNotFound } from "../../problems.ts";

type Schemas = components["schemas"];

export function webhookSecretRoutes({ store, logger }: AppDeps) {
  return new Hono().post("/:project_id/webhook-secret", idParams("project_id"), async (c) => {
    const { project_id } = c.req.valid("param");
    const secret = randomBytes(32).toString("hex");
    if (!(await store.setWebhookSecret(project_id, secret))) throw projectNotFound(project_id);
    audit(logger, c, "webhook_secret_rotated", { project_id });
    const url = `/api/v1/webhooks/github/${project_id}`;
    return c.json({ secret, url } satisfies Schemas["WebhookSecret"], 201);
  });
}

export function webhookRoutes({ store, orchestrator }: AppDeps) {
  return new Hono().post("/github/:project_id", idParams("project_id"), async (c) => {
    const { project_id } = c.req.valid("param");
    // Its size was limited before this reads it (http/limits-and-headers.ts).
    const raw = new Uint8Array(await c.req.arrayBuffer());
    // An unknown project and a project without a secret look the same as a bad signature.
    const target = await store.webhookTarget(project_id);
    if (!target || !verifySignature(target.secret, raw, c.req.header("x-hub-signature-256"))) {
      throw new ProblemError(401, "invalid_signature", "The X-Hub-Signature-256 header is missing or wrong");
    }
    const delivery = c.req.header("x-github-delivery");
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new ProblemError(400, "malformed_request", "The delivery is not JSON");
    }
    const event = c.req.header("x-github-event") ?? "";
    const meaning = interpretGithubEvent(event, payload, target.defaultBranch);
    let result: Schemas["WebhookResult"];
    if (delivery && !(await store.recordDelivery(delivery, project_id))) {
      result = { action: "ignored", reason: `delivery ${delivery} was handled before` };
    } else if (meaning.kind === "ignored") {
      result = { action: "ignored", reason: meaning.reason };
    } else {
      const { action } = await orchestrator.mainChanged(project_id, meaning.commitSha);
      result = { action, reason: meaning.reason };
    }
    return c.json(result, 202);
  });
}
