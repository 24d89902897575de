// Operators run the sandbox hosts: they see hosts' URLs and add, drain and remove hosts, and
// nobody else does, owners of projects included (403 operator_only). Being an operator gives
// nothing in any project; a project's access is project-access.ts's alone.
// Every route under /operator passes here before its handler runs.
import { ProblemError } from "@prewarm/service-kit/problem";
import type { MiddlewareHandler } from "hono";
import type { AuthStore } from "./auth-store.ts";

export function operatorAccess(auth: AuthStore): MiddlewareHandler {
  return async (c, next) => {
    if (!(await auth.isOperator(c.get("user").id))) {
      throw new ProblemError(
        403,
        "operator_only",
        "Only operators manage sandbox hosts (`npm run admin -- add-operator <name>` makes one).",
      );
    }
    return next();
  };
}
