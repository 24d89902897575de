// What every answer of the BFF carries, and how much of a request it reads.
import { limitBody, MAX_BODY_BYTES } from "@prewarm/service-kit/request-body";
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** GitHub caps deliveries at 25 MB; a push of a merge is far smaller. */
const maxWebhookBodyBytes = 10 * 1024 * 1024;

/**
 * Refuses bodies over the limit with 413 before anything reads them: 1 MiB for the API (a
 * startup script is at most 64 KiB of text; even fully escaped it fits), more for webhooks.
 */
export function bodyLimits(): MiddlewareHandler {
  const api = limitBody(MAX_BODY_BYTES);
  const webhooks = limitBody(maxWebhookBodyBytes);
  return (c, next) => (c.req.path.startsWith("/api/v1/webhooks/") ? webhooks : api)(c, next);
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

/**
 * API answers hold a user's projects, members and tokens' labels: no browser or proxy cache may
 * keep them (a shared machine's next user, a caching proxy). Static assets are not affected.
 */
export function noStore(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  };
}
