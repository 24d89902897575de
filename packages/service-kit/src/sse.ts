// A server-sent event stream fed by a subscription: what the client must see first (a backlog),
// then every item pushed while it is connected, in order, with a heartbeat comment when idle so
// proxies keep the connection open and a gone client is noticed.
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";

export interface SubscriptionStream<T> {
  /** Starts delivery; returns how to stop it. */
  subscribe: (push: (item: T) => void) => () => void;
  /** Sent before anything pushed; read after subscribing, so nothing falls between the two. */
  backlog: () => T[] | Promise<T[]>;
  write: (stream: SSEStreamingApi, item: T) => Promise<void>;
  heartbeatMs?: number;
}

export function streamSubscription<T>(c: Context, options: SubscriptionStream<T>): Response {
  return streamSSE(c, async (stream) => {
    const queue: T[] = [];
    let wake: (() => void) | null = null;
    const unsubscribe = options.subscribe((item) => {
      queue.push(item);
      wake?.();
    });
    stream.onAbort(() => {
      unsubscribe();
      wake?.();
    });
    try {
      for (const item of await options.backlog()) await options.write(stream, item);
      while (!stream.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          await options.write(stream, next);
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.heartbeatMs ?? 15_000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(": heartbeat\n\n");
      }
    } finally {
      unsubscribe();
    }
  });
}
