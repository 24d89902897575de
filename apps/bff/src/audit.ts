// The audit trail: one line at info, marked `audit: true`, for every act that changes who may do
// what or destroys data: logins (and failed ones), API tokens made or revoked, members added or
// removed, a cache deleted, a webhook secret rotated, sandbox hosts and operators added, changed
// or removed. Each names who acted, on what, and the
// request (its ID matches the access line); never a password, token or secret.
import type { Context } from "hono";
import type { Logger } from "./logger.ts";

export type AuditAction =
  | "login"
  | "login_failed"
  | "api_token_created"
  | "api_tokens_revoked"
  | "member_added"
  | "member_removed"
  | "docker_cache_deleted"
  | "webhook_secret_rotated"
  | "sandbox_host_added"
  | "sandbox_host_changed"
  | "sandbox_host_removed"
  | "operator_added"
  | "operator_removed";

type AuditFields = Record<string, string | number | null | undefined>;

/** An act done through the API, by the request's user unless `fields.actor` says otherwise. */
export function audit(logger: Logger, c: Context, action: AuditAction, fields: AuditFields = {}): void {
  auditLine(logger, action, {
    actor: c.get("user")?.name,
    reqId: c.get("requestId") as string | undefined,
    ...fields,
  });
}

/** An act done outside a request, e.g. by the admin command on the server. */
export function auditLine(logger: Logger, action: AuditAction, fields: AuditFields): void {
  logger.info({ audit: true, action, ...fields }, `audit: ${action}`);
}
