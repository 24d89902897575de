import { toApiError } from "./problem.ts";

/** Hands each chunk of a streamed answer to `onChunk` until it ends; a failed answer throws its problem. */
export async function readStream(
  answer: { response: Response; error?: unknown },
  onChunk: (bytes: Uint8Array) => void,
): Promise<void> {
  const { response, error } = answer;
  if (!response.ok || !response.body) throw toApiError(error, response);
  const reader = response.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}
