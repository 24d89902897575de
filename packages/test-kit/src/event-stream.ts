// A client of a server-sent event stream, for tests: connect, then wait for the event you expect.
import { createParser, type EventSourceMessage } from "eventsource-parser";

export class EventStreamClient {
  readonly events: EventSourceMessage[] = [];
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private ended: Promise<void> = Promise.resolve();

  static async connect(url: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    const response = await fetch(url, {
      headers: { accept: "text/event-stream", ...headers },
      signal: client.abort.signal,
    });
    if (!response.ok || !response.body) throw new Error(`${url} answered ${response.status}`);
    client.ended = client.read(response.body);
    return client;
  }

  /** Resolves with the first event (seen before or arriving later) that `match` accepts. */
  async waitFor(match: (event: EventSourceMessage) => boolean, timeoutMs = 10_000): Promise<EventSourceMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms (saw ${this.events.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.ended.catch(() => undefined);
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }
}
