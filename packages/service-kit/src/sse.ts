// A server-sent event stream fed by a subscription: what the client must see first (a backlog),
// then every item pushed while it is connected, in order, with a heartbeat comment when idle so
// proxies keep the connection open and a gone client is noticed. When the service shuts down,
// every stream ends with a `retry:` hint, so clients come back once it (or a replica) is up again.
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { eventStreamsOpen } from "./metrics.ts";
import { shutdownSignal } from "./shutdown.ts";

/** How long a client waits before reconnecting to a stream ended by a shutdown. */
const reconnectAfterShutdownMs = 3000;

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
    const onShutdown = () => wake?.();
    shutdownSignal.addEventListener("abort", onShutdown);
    eventStreamsOpen.inc();
    try {
      for (const item of await options.backlog()) await options.write(stream, item);
      while (!stream.aborted && !shutdownSignal.aborted) {
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
        if (queue.length === 0 && !stream.aborted && !shutdownSignal.aborted) await stream.write(": heartbeat\n\n");
      }
      if (shutdownSignal.aborted && !stream.aborted) await stream.write(`retry: ${reconnectAfterShutdownMs}\n\n`);
    } finally {
      eventStreamsOpen.dec();
      shutdownSignal.removeEventListener("abort", onShutdown);
      unsubscribe();
    }
  });
}
