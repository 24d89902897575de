// The BFF's configuration: a misconfigured deployment stops at start with every bad variable named.
import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/env.ts";

describe("the BFF's environment", () => {
  it("lists every bad variable at once, password cost and metrics included", () => {
    expect(() =>
      parseEnv({ PASSWORD_SCRYPT_N: "1000", METRICS_TOKEN: "short", METRICS_PORT: "http", SHUTDOWN_TIMEOUT_MS: "-1" }),
    ).toThrow(
      /PASSWORD_SCRYPT_N must be a power of two[\s\S]*METRICS_TOKEN must be at least 32 characters[\s\S]*METRICS_PORT[\s\S]*SHUTDOWN_TIMEOUT_MS/,
    );
  });

  it("serves no metrics unless told where, and waits 10 s for requests at shutdown", () => {
    expect(parseEnv({})).toMatchObject({
      metrics: { token: null, port: null, host: "127.0.0.1" },
      shutdownTimeoutMs: 10_000,
    });
    expect(
      parseEnv({
        METRICS_TOKEN: "t".repeat(32),
        METRICS_PORT: "9464",
        METRICS_HOST: "10.0.0.5",
        PASSWORD_SCRYPT_N: "2048",
      }).metrics,
    ).toEqual({ token: "t".repeat(32), port: 9464, host: "10.0.0.5" });
  });

  it("takes SANDBOX_URL as a fleet of one, labelled SANDBOX_LABEL, or none when it is empty", () => {
    expect(parseEnv({})).toMatchObject({ sandboxUrl: "http://127.0.0.1:7071", sandboxLabel: "default" });
    expect(parseEnv({ SANDBOX_URL: "http://sbx-1:7071/", SANDBOX_LABEL: "sbx-1" })).toMatchObject({
      sandboxUrl: "http://sbx-1:7071",
      sandboxLabel: "sbx-1",
    });
    expect(parseEnv({ SANDBOX_URL: "" }).sandboxUrl).toBeNull();
    expect(() => parseEnv({ SANDBOX_LABEL: "Sandbox One" })).toThrow(/SANDBOX_LABEL must be lower-case letters/);
  });
});
