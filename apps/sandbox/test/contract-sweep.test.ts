// The hostile-request generator of @prewarm/test-kit, over a tiny contract: every kind of bad
// request it promises is there, each breaking exactly one thing of an otherwise valid request.
import { hostileRequests, sampleRequests } from "@prewarm/test-kit/contract-sweep";
import { describe, expect, it } from "vitest";

const doc = {
  openapi: "3.1.0",
  paths: {
    "/things/{thing_id}/parts/{part_id}": {
      parameters: [{ $ref: "#/components/parameters/ThingId" }],
      get: {
        operationId: "getPart",
        parameters: [{ name: "part_id", in: "path", required: true, schema: { $ref: "#/components/schemas/Id" } }],
      },
    },
    "/things": {
      post: {
        operationId: "createThing",
        parameters: [
          { name: "X-Request-Tag", in: "header", required: true, schema: { type: "string" } },
          { name: "X-Hub-Signature-256", in: "header", required: true, schema: { type: "string" } },
          { name: "X-Optional", in: "header", required: false, schema: { type: "string" } },
        ],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/NewThing" } } },
        },
      },
    },
    "/health": { get: { operationId: "health" } },
  },
  components: {
    parameters: {
      ThingId: { name: "thing_id", in: "path", required: true, schema: { $ref: "#/components/schemas/Id" } },
    },
    schemas: {
      Id: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" },
      NewThing: {
        type: "object",
        additionalProperties: false,
        required: ["id", "name"],
        properties: {
          id: { $ref: "#/components/schemas/Id" },
          name: { type: "string", minLength: 1, maxLength: 10 },
          commit: { type: ["string", "null"], pattern: "^[0-9a-f]{7,40}$" },
          size: { type: "integer", minimum: 1, maximum: 5 },
          kind: { type: "string", enum: ["small", "big"] },
          parent: { oneOf: [{ $ref: "#/components/schemas/Id" }, { type: "null" }] },
        },
      },
    },
  },
};

const pathValues = { thing_id: "t1", part_id: "p1" };
const requests = hostileRequests(doc, { pathValues, maxBodyBytes: 1000 });
const whys = (operationId: string) => requests.filter((r) => r.operationId === operationId).map((r) => r.why);
const bodyOf = (why: string) => {
  const found = requests.find((r) => r.why === `createThing: ${why}`);
  if (!found?.body) throw new Error(`no request "${why}" among:\n${whys("createThing").join("\n")}`);
  return { ...found, body: typeof found.body === "string" ? found.body : Buffer.from(found.body).toString("latin1") };
};

describe("hostileRequests", () => {
  it("tries every hostile value on each path parameter, the others valid", () => {
    const getPart = requests.filter((r) => r.operationId === "getPart");
    expect(getPart).toHaveLength(2 * 11);
    const paths = getPart.map((r) => r.path);
    for (const value of ["..", "%2e%2e", "..%2f..%2fetc", "%00", "a%00b", "-a", "a%20b", "%C3%A9", "%252e%252e"]) {
      expect(paths).toContain(`/things/${value}/parts/p1`);
      expect(paths).toContain(`/things/t1/parts/${value}`);
    }
    expect(paths).toContain(`/things/t1/parts/${"a".repeat(65)}`);
    expect(paths).toContain(`/things/${"a".repeat(10_000)}/parts/p1`);
    expect(getPart.every((r) => r.body === undefined && r.method === "GET")).toBe(true);
  });

  it("leaves out operations `include` refuses, and those with nothing to break", () => {
    const only = hostileRequests(doc, { pathValues, maxBodyBytes: 1000, include: (id) => id === "getPart" });
    expect(new Set(only.map((r) => r.operationId))).toEqual(new Set(["getPart"]));
    expect(whys("health")).toEqual([]);
  });

  it("breaks a JSON body one way at a time, starting from a valid one", () => {
    const [valid] = sampleRequests(doc, { pathValues, include: (id) => id === "createThing" });
    const sample = JSON.parse(String(valid!.body));
    expect(sample).toEqual({ id: "a1", name: "a1", commit: "abcdef1", size: 1, kind: "small", parent: "a1" });
    expect(valid!.headers).toEqual({
      "content-type": "application/json",
      "X-Request-Tag": "a1",
      "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`,
    });

    expect(bodyOf("malformed JSON").body).toBe('{"a":');
    for (const text of ["[]", "42", '"x"', "null"]) expect(bodyOf(`the body is ${text}`).body).toBe(text);
    const broken = (why: string) => JSON.parse(bodyOf(why).body!);
    expect(broken("id is missing")).toEqual({ ...sample, id: undefined });
    expect(broken("name is missing")).not.toHaveProperty("name");
    expect(broken("an unknown field")).toEqual({ ...sample, unknown_field: "x" });
    expect(broken("name is of type integer").name).toBe(12345);
    expect(broken("commit is of type integer").commit).toBe(12345);
    expect(broken("size is of type string").size).toBe("x");
    expect(typeof broken("parent is of type integer").parent).toBe("number");
    expect(broken("name is longer than 10").name).toBe("a".repeat(11));
    expect(broken("name is shorter than 1").name).toBe("");
    expect(broken("id does not match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$").id).toBe("../x");
    expect(broken("commit does not match ^[0-9a-f]{7,40}$").commit).toBe("../x");
    expect(broken("kind is not one of its values").kind).toBe("not_a_listed_value");
    expect(broken("size is below its minimum").size).toBe(0);
    expect(broken("size is above its maximum").size).toBe(6);
    expect(broken("name holds a NUL character").name).toBe("a1\u0000");
    expect(broken("kind holds a NUL character").kind).toBe("small\u0000");
    // Bytes 0xFF 0xFE where the first string field's value would be, the rest valid JSON.
    const notUtf8 = requests.find((r) => r.why === "createThing: id holds bytes that are not UTF-8")?.body;
    expect(notUtf8).toBeInstanceOf(Uint8Array);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(notUtf8 as Uint8Array)).toThrow();
    expect(Buffer.from(notUtf8 as Uint8Array).toString("latin1")).toBe(
      JSON.stringify({ ...sample, id: "\u00ff\u00fe" }),
    );
    expect(bodyOf("a valid body declared text/plain")).toMatchObject({
      body: valid!.body,
      headers: { "content-type": "text/plain", "X-Request-Tag": "a1" },
    });
    const huge = bodyOf("a body of 1001 bytes").body!;
    expect(Buffer.byteLength(huge)).toBe(1001);
    expect(Object.keys(JSON.parse(huge))).toEqual(Object.keys(sample));
  });

  it("names a path parameter it has no value for", () => {
    expect(() => hostileRequests(doc, { pathValues: { thing_id: "t1" }, maxBodyBytes: 1000 })).toThrow(/part_id/);
  });
});
