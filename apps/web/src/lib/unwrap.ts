import { toApiError } from "./problem.ts";

/**
 * The data of an openapi-fetch answer, or its failure thrown as an ApiError. openapi-fetch fills
 * `error` exactly when the response is not ok; an ok answer without a body (204) has no data.
 */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (!answer.response.ok) throw toApiError(answer.error, answer.response);
  return answer.data as T;
}
