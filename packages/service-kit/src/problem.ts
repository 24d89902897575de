// One error shape for both services: RFC 9457 problem details with a stable `code`. Handlers
// throw ProblemError; the app's single onError turns it (and anything else) into the same body.

import type { InvalidPart } from "@prewarm/api-types/contract";
import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  errors?: InvalidPart[];
}

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  507: "Insufficient Storage",
};

export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors?: InvalidPart[];

  constructor(status: number, code: string, detail: string, errors?: InvalidPart[]) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = errors;
    this.name = "ProblemError";
  }

  /** Headers the answer carries besides the problem, e.g. `WWW-Authenticate` or `Retry-After`. */
  readonly headers: Record<string, string> = {};

  withHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }

  toProblem(instance?: string): Problem {
    return {
      type: `urn:prewarm:problem:${this.code}`,
      title: titles[this.status] ?? "Error",
      status: this.status,
      code: this.code,
      detail: this.detail,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, "content-type": "application/problem+json" },
  });
}

export interface ProblemLogger {
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The app's onError: known problems keep their code, anything else becomes an opaque 500. */
export function problemErrorHandler(logger: ProblemLogger): ErrorHandler {
  return (err, c) => {
    const instance = c.req.path;
    if (err instanceof ProblemError) return problemResponse(err.toProblem(instance), err.headers);
    if (err instanceof HTTPException) {
      // Hono raises these for bodies it cannot parse; keep the status, give it a stable code.
      const code = err.status === 400 ? "malformed_request" : `http_${err.status}`;
      const detail = err.message || titles[err.status] || "Request failed";
      return problemResponse(new ProblemError(err.status, code, detail).toProblem(instance));
    }
    logger.error("unhandled error", { path: instance, error: String(err?.stack ?? err) });
    return problemResponse(
      new ProblemError(500, "internal_error", "Something went wrong on our side; it has been logged.").toProblem(
        instance,
      ),
    );
  };
}

export function notFoundHandler(c: Context): Response {
  return problemResponse(
    new ProblemError(404, "route_not_found", `No route for ${c.req.method} ${c.req.path}`).toProblem(c.req.path),
  );
}

/** The answer to an ID that cannot be one, before anything uses it. */
export function invalidId(name: string): ProblemError {
  return new ProblemError(
    400,
    "invalid_id",
    `${name} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit`,
    [{ path: name, message: "is not a valid ID" }],
  );
}
