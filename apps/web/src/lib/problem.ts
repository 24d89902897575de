import type { components } from "@prewarm/api-types/bff";

type Problem = components["schemas"]["Problem"];

/** A failed API call, carrying the BFF's problem details. */
export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
    this.name = "ApiError";
  }

  get code(): string {
    return this.problem.code;
  }
}

export function toApiError(body: unknown, response: Response): ApiError {
  const problem = body as Partial<Problem> | undefined;
  if (problem && typeof problem.detail === "string" && typeof problem.code === "string") {
    return new ApiError(problem as Problem);
  }
  return new ApiError({
    type: "about:blank",
    title: response.statusText || "Error",
    status: response.status,
    code: `http_${response.status}`,
    detail: `The server answered ${response.status} ${response.statusText}`.trim(),
  });
}
