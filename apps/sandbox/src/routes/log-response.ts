// The answer to a request for a run's log, a build's or a test session's: `follow` and `offset`
// read one way for both, and the bytes streamed as plain text.
import { ProblemError } from "@prewarm/service-kit/problem";

interface LogPosition {
  offset: number;
  follow: boolean;
}

export async function logResponse(
  query: Record<string, string>,
  read: (position: LogPosition) => Promise<ReadableStream<Uint8Array>>,
): Promise<Response> {
  const follow = parseBoolean(query.follow, "follow");
  const offset = parseOffset(query.offset);
  return new Response(await read({ offset, follow }), {
    headers: {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

function parseBoolean(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === "false") return false;
  if (raw === "true") return true;
  throw new ProblemError(400, "invalid_request", `${name} must be true or false`, [
    { path: name, message: "must be true or false" },
  ]);
}

function parseOffset(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^[0-9]{1,15}$/.test(raw)) {
    throw new ProblemError(400, "invalid_request", "offset must be a non-negative integer", [
      { path: "offset", message: "must be a non-negative integer" },
    ]);
  }
  return Number(raw);
}
