// Server-sent events: replay what a reconnecting client missed, then everything as it happens.
import { ProblemError } from "@prewarm/service-kit/problem";
import { streamSubscription } from "@prewarm/service-kit/sse";
import { Hono } from "hono";
import type { SequencedEvent } from "../../events/event-bus.ts";
import type { SandboxServices } from "../../services.ts";

type Outgoing = SequencedEvent | "sync";

export function eventRoutes({ bus }: SandboxServices) {
  return new Hono().get("/", (c) => {
    const lastEventId = c.req.header("last-event-id");
    if (lastEventId !== undefined && !/^[0-9]{1,15}$/.test(lastEventId)) {
      throw new ProblemError(400, "invalid_request", "Last-Event-ID must be an event ID of this stream");
    }
    // An event can be both replayed and pushed; the ID says whether it was sent already.
    let lastSent = lastEventId === undefined ? -1 : Number(lastEventId);
    return streamSubscription<Outgoing>(c, {
      subscribe: (push) => bus.subscribe(push),
      backlog: () => {
        if (lastEventId === undefined) return [];
        return bus.since(Number(lastEventId)) ?? ["sync"];
      },
      write: async (stream, item) => {
        if (item === "sync") {
          await stream.writeSSE({ event: "sync", data: JSON.stringify({ type: "sync" }) });
          return;
        }
        if (item.id <= lastSent) return;
        lastSent = item.id;
        await stream.writeSSE({ id: String(item.id), event: item.event.type, data: JSON.stringify(item.event) });
      },
    });
  });
}
