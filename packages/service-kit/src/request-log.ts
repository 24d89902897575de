import type { MiddlewareHandler } from "hono";

export interface RequestLogger {
  debug(fields: Record<string, unknown>, message: string): void;
}

/** One debug line per request: method, path, status and milliseconds. */
export function requestLog(logger: RequestLogger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    logger.debug(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) },
      "request",
    );
  };
}
