// Follows the sandbox's event stream for as long as `signal` is not aborted, reconnecting with
// Last-Event-ID after any interruption. `onConnected` runs after every (re)connect, because
// events may have been missed while disconnected.
import { createParser } from "eventsource-parser";
import type { Logger } from "../logger.ts";
import type { SandboxClient, SandboxEvent } from "./sandbox-client.ts";

interface FollowOptions {
  signal: AbortSignal;
  logger: Logger;
  onEvent: (event: SandboxEvent) => Promise<void> | void;
  onConnected: () => Promise<void> | void;
  /** Called when the stream is lost or cannot be opened, with why. */
  onDisconnected?: (detail: string) => void;
  retryMs?: number;
}

export async function followSandboxEvents(sandbox: SandboxClient, options: FollowOptions): Promise<void> {
  let lastEventId: string | null = null;
  let failures = 0;
  while (!options.signal.aborted) {
    try {
      const response = await sandbox.events(lastEventId, options.signal);
      failures = 0;
      await options.onConnected();
      const pending: SandboxEvent[] = [];
      const parser = createParser({
        onEvent: (message) => {
          if (message.id) lastEventId = message.id;
          try {
            pending.push(JSON.parse(message.data) as SandboxEvent);
          } catch {
            options.logger.warn({ data: message.data.slice(0, 200) }, "ignored a malformed sandbox event");
          }
        },
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        while (pending.length > 0) await options.onEvent(pending.shift() as SandboxEvent);
      }
    } catch (error) {
      if (options.signal.aborted) return;
      failures++;
      if (failures === 1) options.logger.warn({ error: String(error) }, "sandbox event stream interrupted");
      options.onDisconnected?.(describe(error));
    }
    if (options.signal.aborted) return;
    const delay = Math.min((options.retryMs ?? 500) * 2 ** Math.min(failures, 4), 10_000);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}
