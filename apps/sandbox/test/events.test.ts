import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestSandbox, type TestSandbox } from "./helpers.ts";

let sandbox: TestSandbox;

beforeEach(async () => {
  sandbox = await createTestSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

/** Reads server-sent events until `until` says stop. */
async function collect(res: Response, until: (events: EventSourceMessage[]) => boolean) {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  await reader.cancel();
  return events;
}

it("streams a build from start to promotion, and replays what a reconnecting client missed", async () => {
  const stream = await sandbox.request("GET", "/v1/events");
  expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
  await sandbox.startBuild({ build_id: "b1", project_id: "p1", startup_script: "echo hi" });
  const events = await collect(stream, (seen) => seen.filter((e) => e.event === "build").length >= 2);

  const builds = events.filter((e) => e.event === "build").map((e) => JSON.parse(e.data).build.status);
  expect(builds).toEqual(["running", "succeeded"]);
  const promoted = events.find((e) => e.event === "golden");
  expect(JSON.parse(promoted?.data ?? "{}")).toMatchObject({
    reason: "promoted",
    golden: { exists: true, build_id: "b1" },
  });
  const ids = events.map((e) => Number(e.id));
  expect(ids).toEqual(ids.map((_, i) => (ids[0] ?? 0) + i));

  // A client that saw only the first event gets the rest, in order, on reconnect.
  const resumed = await sandbox.app.request("/v1/events", { headers: { "last-event-id": String(ids[0]) } });
  const replayed = await collect(resumed, (seen) => seen.length >= ids.length - 1);
  expect(replayed.map((e) => Number(e.id))).toEqual(ids.slice(1));
});

it("tells a client resuming from an unknown event to re-sync", async () => {
  const res = await sandbox.app.request("/v1/events", { headers: { "last-event-id": "12" } });
  const events = await collect(res, (seen) => seen.length >= 1);
  expect(events[0]?.event).toBe("sync");
});
