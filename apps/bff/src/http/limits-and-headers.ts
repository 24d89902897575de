// What every answer of the BFF carries, and how much of a request it reads.
import { ProblemError, problemResponse } from "@prewarm/service-kit/problem";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";

/** A startup script is at most 64 KiB of text; even fully escaped it fits in 1 MiB of JSON. */
export const maxApiBodyBytes = 1024 * 1024;
/** GitHub caps deliveries at 25 MB; a push of a merge is far smaller. */
export const maxWebhookBodyBytes = 10 * 1024 * 1024;

function limit(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: (c) =>
      problemResponse(
        new ProblemError(
          413,
          "body_too_large",
          `The request body is larger than the ${Math.round(maxSize / 1024)} KiB this endpoint accepts.`,
        ).toProblem(c.req.path),
      ),
  });
}

/** Refuses bodies over the limit with 413 before anything reads them. */
export function bodyLimits(): MiddlewareHandler {
  const api = limit(maxApiBodyBytes);
  const webhooks = limit(maxWebhookBodyBytes);
  return (c, next) => (c.req.path.startsWith("/api/v1/webhooks/") ? webhooks(c, next) : api(c, next));
}

/**
 * The page runs only its own scripts and talks only to its own origin; MUI and the terminal
 * style elements inline, hence 'unsafe-inline' for styles alone. Nobody may frame the page.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      fontSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      workerSrc: ["'self'", "blob:"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    strictTransportSecurity: false,
  });
}
