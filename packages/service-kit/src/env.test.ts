import { expect, it } from "vitest";
import { EnvReader } from "./env.ts";

it("uses the defaults for what is not set", () => {
  const env = new EnvReader({});
  const value = env.done("test", {
    port: env.int("PORT", 7070, 0, 65535),
    on: env.bool("ON", false),
    url: env.url("URL", "http://127.0.0.1:7071/"),
    level: env.oneOf("LEVEL", "info", ["info", "debug"] as const),
  });
  expect(value).toEqual({ port: 7070, on: false, url: "http://127.0.0.1:7071", level: "info" });
});

it("lists every bad variable at once", () => {
  const env = new EnvReader({ PORT: "70000", ON: "yes", URL: "not a url", LEVEL: "loud" });
  env.int("PORT", 7070, 0, 65535);
  env.bool("ON", false);
  env.url("URL", "http://x");
  env.oneOf("LEVEL", "info", ["info", "debug"] as const);
  expect(() => env.done("test", {})).toThrow(
    [
      "Invalid test configuration:",
      '  PORT must be an integer from 0 to 65535, got "70000"',
      '  ON must be true or false, got "yes"',
      '  URL must be a URL, got "not a url"',
      '  LEVEL must be one of info, debug, got "loud"',
    ].join("\n"),
  );
});
