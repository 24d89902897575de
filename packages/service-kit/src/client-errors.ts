// Requests Node's HTTP parser refuses before any handler sees them (a malformed request line, a
// raw non-ASCII byte in the target, headers too large): answered with the same problem details
// as every other refusal, instead of Node's bare "400 Bad Request" with no body.
import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { ProblemError } from "./problem.ts";

/** What Node's parser says, and the problem answering it. */
function problemFor(code: string | undefined): ProblemError {
  if (code === "HPE_HEADER_OVERFLOW") {
    return new ProblemError(431, "headers_too_large", "The request's headers are too large; nothing was done.");
  }
  return new ProblemError(400, "malformed_request", "The request is not valid HTTP; nothing was done.");
}

/** For the server `serve()` returns (an http.Server, whose "clientError" gives the error and socket). */
export function answerClientErrors(server: EventEmitter): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A connection that broke, or one already answered, gets nothing more.
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem = problemFor(error.code);
    const body = JSON.stringify(problem.toProblem());
    const title = problem.toProblem().title;
    socket.end(
      `HTTP/1.1 ${problem.status} ${title}\r\n` +
        "Content-Type: application/problem+json\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        "Connection: close\r\n\r\n" +
        body,
    );
  });
}
