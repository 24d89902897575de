import { describe, expect, it } from "vitest";
import { formatAge, formatAgo, formatDockerEngine, formatElapsed, formatSize } from "./format.ts";

const now = Date.parse("2026-03-10T12:00:00Z");
const before = (seconds: number) => new Date(now - seconds * 1000).toISOString();

describe("how times and sizes read", () => {
  it.each([
    [0, "just now"],
    [44, "just now"],
    [50, "1 min ago"],
    [3 * 60, "3 min ago"],
    [59 * 60, "59 min ago"],
    [2 * 3600, "2h ago"],
    [23 * 3600 + 59 * 60, "23h ago"],
    [24 * 3600, "1 day ago"],
    [5 * 86_400, "5 days ago"],
  ])("%is ago is %s", (seconds, text) => {
    expect(formatAgo(before(seconds), now)).toBe(text);
  });

  it("never says a time in the future is ahead", () => {
    expect(formatAgo(before(-30), now)).toBe("just now");
  });

  it("says how old a cache is", () => {
    expect(formatAge(before(2 * 86_400), now)).toBe("2 days");
  });

  it("counts elapsed time", () => {
    expect(formatElapsed(before(12), now)).toBe("12s");
    expect(formatElapsed(before(185), now)).toBe("3m 05s");
    expect(formatElapsed(before(3720), now)).toBe("1h 02m");
  });

  it("writes sizes in decimal units", () => {
    expect(formatSize(8_700_000_000)).toBe("8.7 GB");
    expect(formatSize(312_000_000)).toBe("312 MB");
    expect(formatSize(0)).toBe("0 B");
  });

  it("names the Docker engine a run had and how its daemon ran, or says it had none once it ended", () => {
    const engine = { version: "20.10.24+dfsg1", storage_driver: "overlay2", rootless: true };
    expect(formatDockerEngine(engine, true)).toBe("Docker 20.10.24+dfsg1 (overlay2, rootless)");
    expect(formatDockerEngine(engine, false)).toBe("Docker 20.10.24+dfsg1 (overlay2, rootless)");
    expect(formatDockerEngine({ ...engine, rootless: false }, true)).toBe(
      "Docker 20.10.24+dfsg1 (overlay2, root daemon)",
    );
    expect(formatDockerEngine(null, true)).toBe("No Docker daemon");
    expect(formatDockerEngine(null, false)).toBeNull();
  });
});
