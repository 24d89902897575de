// Server-sent events: replay what a reconnecting client missed, then everything as it happens.
import { ProblemError } from "@prewarm/api-types/problem";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { SequencedEvent } from "../../events/event-bus.ts";
import type { SandboxServices } from "../../services.ts";

const heartbeatMs = 15_000;

export function eventRoutes({ bus }: SandboxServices) {
  return new Hono().get("/", (c) => {
    const lastEventId = c.req.header("last-event-id");
    if (lastEventId !== undefined && !/^[0-9]{1,15}$/.test(lastEventId)) {
      throw new ProblemError(400, "invalid_request", "Last-Event-ID must be an event ID of this stream");
    }
    return streamSSE(c, async (stream) => {
      const queue: SequencedEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = bus.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      if (lastEventId !== undefined) {
        const missed = bus.since(Number(lastEventId));
        if (missed === null) await stream.writeSSE({ event: "sync", data: JSON.stringify({ type: "sync" }) });
        else queue.unshift(...missed.filter((e) => !queue.some((q) => q.id === e.id)));
      }
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
          await stream.writeSSE({ id: String(next.id), event: next.event.type, data: JSON.stringify(next.event) });
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, heartbeatMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(": heartbeat\n\n");
      }
      unsubscribe();
    });
  });
}
