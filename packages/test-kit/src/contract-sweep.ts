// Bad requests, derived from an OpenAPI 3.1 contract, for sweeps that check a service refuses
// them all with a problem and changes nothing. For each operation: hostile values for each path
// parameter (the others valid), and for a JSON request body every way to break it one field at a
// time, starting from an otherwise valid body built from the schema. Path values are placed in
// the path as they are (already percent-encoded where they are encoded). `sampleRequests` gives
// one valid-looking request per operation, e.g. to check each is refused without credentials.

export interface ContractRequest {
  operationId: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** JSON text, or bytes where the case is about the bytes themselves (not UTF-8). */
  body?: string | Uint8Array;
}

export interface HostileRequest extends ContractRequest {
  why: string;
}

export interface SweepOptions {
  /** A valid value for each path parameter name, e.g. { project_id: "p1", build_id: "b1" }. */
  pathValues: Record<string, string>;
  include?: (operationId: string) => boolean;
}

type Schema = Record<string, unknown>;
type Json = unknown;

interface Operation {
  operationId: string;
  method: string;
  template: string;
  parameters: { name: string; in: string; required?: boolean; schema?: Schema }[];
  body: Schema | null;
}

const methods = ["get", "put", "post", "delete", "patch"];

const hostileSegments: [string, string][] = [
  ["..", "a parent-directory segment"],
  ["%2e%2e", "an encoded parent-directory segment"],
  ["..%2f..%2fetc", "an encoded traversal to etc"],
  ["%00", "a NUL byte"],
  ["a%00b", "a NUL byte inside"],
  ["a".repeat(65), "65 characters"],
  ["-a", "a leading dash"],
  ["a%20b", "a space"],
  ["%C3%A9", "a non-ASCII letter"],
  ["a".repeat(10_000), "10,000 characters"],
  ["%252e%252e", "a double-encoded parent-directory segment"],
];

// Values tried, in order, where a schema has a pattern; the first that fits is used.
const fitting = ["a1", "abcdef1", "main", "a", "1", "0123456789abcdef0123456789abcdef01234567", "http://127.0.0.1:9/"];
const breaking = ["../x", " ", "a b", "\u0000", "é", ";"];
// A value of each JSON type, for giving a field the wrong one.
const typed: [string, Json][] = [
  ["integer", 12345],
  ["string", "x"],
  ["boolean", true],
  ["array", ["x"]],
  ["object", { x: 1 }],
];

/** Bad requests for every operation of an OpenAPI 3.1 document (parsed YAML object). */
export function hostileRequests(doc: unknown, options: SweepOptions & { maxBodyBytes: number }): HostileRequest[] {
  const out: HostileRequest[] = [];
  for (const op of operations(doc, options)) {
    const valid = validRequest(doc, op, options.pathValues);
    const add = (why: string, change: Partial<ContractRequest>) =>
      out.push({
        ...valid,
        ...change,
        headers: { ...valid.headers, ...change.headers },
        why: `${op.operationId}: ${why}`,
      });
    for (const name of pathNames(op.template)) {
      for (const [value, label] of hostileSegments) {
        add(`${name} is ${label}`, { path: fillPath(op, { ...options.pathValues, [name]: value }) });
      }
    }
    if (op.body) {
      for (const [why, body] of bodyCases(doc, op.body, options.pathValues, options.maxBodyBytes)) add(why, { body });
      add("a valid body declared text/plain", { headers: { "content-type": "text/plain" } });
    }
  }
  return out;
}

/** One valid-looking request per operation, with sample bodies and required headers. */
export function sampleRequests(doc: unknown, options: SweepOptions): ContractRequest[] {
  return operations(doc, options).map((op) => validRequest(doc, op, options.pathValues));
}

function operations(doc: unknown, options: SweepOptions): Operation[] {
  const out: Operation[] = [];
  const paths = ((doc as Schema).paths ?? {}) as Record<string, Schema>;
  for (const [template, item] of Object.entries(paths)) {
    for (const method of methods) {
      const op = item[method] as Schema | undefined;
      if (!op || (options.include && !options.include(String(op.operationId)))) continue;
      const parameters = [...((item.parameters as Schema[]) ?? []), ...((op.parameters as Schema[]) ?? [])];
      const content = (resolve(doc, op.requestBody as Schema | undefined)?.content ?? {}) as Record<string, Schema>;
      out.push({
        operationId: String(op.operationId),
        method: method.toUpperCase(),
        template,
        parameters: parameters.map((p) => resolve(doc, p) as Operation["parameters"][number]),
        body: content["application/json"] ? ((content["application/json"].schema as Schema) ?? {}) : null,
      });
    }
  }
  return out;
}

function validRequest(doc: unknown, op: Operation, values: Record<string, string>): ContractRequest {
  const headers: Record<string, string> = {};
  for (const p of op.parameters.filter((p) => p.in === "header" && p.required)) {
    headers[p.name] = /signature/i.test(p.name) ? `sha256=${"0".repeat(64)}` : String(sample(doc, p.schema ?? {}));
  }
  const request: ContractRequest = {
    operationId: op.operationId,
    method: op.method,
    path: fillPath(op, values),
    headers,
  };
  const query = op.parameters
    .filter((p) => p.in === "query" && p.required)
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(sample(doc, p.schema ?? {})))}`);
  if (query.length > 0) request.path += `?${query.join("&")}`;
  if (op.body) {
    headers["content-type"] = "application/json";
    request.body = JSON.stringify(sample(doc, op.body, values));
  }
  return request;
}

function pathNames(template: string): string[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
}

function fillPath(op: Operation, values: Record<string, string>): string {
  return op.template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${op.operationId}: no value given for path parameter ${name}`);
    return value;
  });
}

/** Each way to break an otherwise valid body, one at a time: [why, body]. */
function bodyCases(
  doc: unknown,
  schema: Schema,
  values: Record<string, string>,
  maxBytes: number,
): [string, string | Uint8Array][] {
  const root = resolve(doc, schema)!;
  const valid = sample(doc, root, values) as Record<string, Json>;
  const cases: [string, string | Uint8Array][] = [["malformed JSON", '{"a":']];
  const isObject = typesOf(doc, root).has("object");
  if (isObject) for (const text of ["[]", "42", '"x"', "null"]) cases.push([`the body is ${text}`, text]);
  const props = isObject ? ((root.properties ?? {}) as Record<string, Schema>) : {};
  const withField = (name: string, value: Json) => JSON.stringify({ ...valid, [name]: value });
  for (const name of (root.required as string[] | undefined) ?? []) {
    const { [name]: _, ...rest } = valid;
    cases.push([`${name} is missing`, JSON.stringify(rest)]);
  }
  if (root.additionalProperties === false) cases.push(["an unknown field", withField("unknown_field", "x")]);
  if (Number(root.minProperties ?? 0) > 0) cases.push([`no fields (minProperties ${root.minProperties})`, "{}"]);
  for (const [name, raw] of Object.entries(props)) {
    const allowed = typesOf(doc, raw);
    const wrong = typed.find(([type]) => !allowed.has(type) && !(type === "integer" && allowed.has("number")));
    if (allowed.size > 0 && wrong) cases.push([`${name} is of type ${wrong[0]}`, withField(name, wrong[1])]);
    const prop = effective(doc, raw);
    if (typeof prop.maxLength === "number") {
      cases.push([`${name} is longer than ${prop.maxLength}`, withField(name, "a".repeat(prop.maxLength + 1))]);
    }
    if (typeof prop.minLength === "number" && prop.minLength > 0) {
      cases.push([`${name} is shorter than ${prop.minLength}`, withField(name, "a".repeat(prop.minLength - 1))]);
    }
    if (typeof prop.pattern === "string") {
      const pattern = new RegExp(prop.pattern, "u");
      const bad = breaking.find((value) => !pattern.test(value));
      if (bad !== undefined) cases.push([`${name} does not match ${prop.pattern}`, withField(name, bad)]);
    }
    if (Array.isArray(prop.enum) && prop.enum.every((v) => typeof v === "string")) {
      cases.push([`${name} is not one of its values`, withField(name, "not_a_listed_value")]);
    }
    if (allowed.has("string")) {
      // PostgreSQL's text cannot hold U+0000: a value that reaches the store with one must not.
      const text = typeof valid[name] === "string" ? (valid[name] as string) : "a";
      cases.push([`${name} holds a NUL character`, withField(name, `${text}\u0000`)]);
    }
    if (typeof prop.minimum === "number")
      cases.push([`${name} is below its minimum`, withField(name, prop.minimum - 1)]);
    if (typeof prop.maximum === "number")
      cases.push([`${name} is above its maximum`, withField(name, prop.maximum + 1)]);
  }
  // A body one byte over the limit, shaped like a valid one: a string field padded out.
  const field = Object.keys(props).find((name) => typesOf(doc, props[name]!).has("string")) ?? "padding";
  // A valid body but for two bytes that are not UTF-8 in a string (0xFF 0xFE, a UTF-16 mark).
  const marker = "NOT-UTF-8-HERE";
  const [before, after] = withField(field, marker).split(marker) as [string, string];
  cases.push([
    `${field} holds bytes that are not UTF-8`,
    Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]),
  ]);
  const frameBytes = Buffer.byteLength(withField(field, ""));
  cases.push([`a body of ${maxBytes + 1} bytes`, withField(field, "a".repeat(maxBytes + 1 - frameBytes))]);
  return cases;
}

/** A value the schema accepts: the first enum value, the first branch, every property. */
function sample(doc: unknown, raw: Schema, values: Record<string, string> = {}, name?: string): Json {
  const schema = resolve(doc, raw)!;
  if ("const" in schema) return schema.const;
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const branches = (schema.oneOf ?? schema.anyOf ?? schema.allOf) as Schema[] | undefined;
  if (branches) return sample(doc, branches[0]!, values, name);
  const types = [...typesOf(doc, schema)];
  const type = types.find((t) => t !== "null") ?? types[0] ?? "object";
  switch (type) {
    case "string":
      return sampleString(schema, name === undefined ? undefined : values[name]);
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : Math.min(1, Number(schema.maximum ?? 1));
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sample(doc, schema.items as Schema, values));
    case "null":
      return null;
    default: {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(Object.entries(props).map(([key, prop]) => [key, sample(doc, prop, values, key)]));
    }
  }
}

function sampleString(schema: Schema, preferred: string | undefined): string {
  if (schema.format === "date-time") return "2024-01-02T03:04:05Z";
  const min = Number(schema.minLength ?? 0);
  const max = Number(schema.maxLength ?? Number.POSITIVE_INFINITY);
  const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern, "u") : null;
  const fits = (value: string) => value.length >= min && value.length <= max && (!pattern || pattern.test(value));
  const found = [...(preferred === undefined ? [] : [preferred]), ...fitting, "a".repeat(min)].find(fits);
  if (found === undefined) throw new Error(`no sample string for ${JSON.stringify(schema)}; add one to \`fitting\``);
  return found;
}

/** The JSON types a schema allows, through $ref, type arrays, enum values and oneOf/anyOf branches. */
function typesOf(doc: unknown, raw: Schema): Set<string> {
  const schema = resolve(doc, raw)!;
  const types = new Set<string>();
  if (typeof schema.type === "string") types.add(schema.type);
  if (Array.isArray(schema.type)) for (const t of schema.type) types.add(String(t));
  for (const value of (schema.enum as Json[] | undefined) ?? ("const" in schema ? [schema.const] : [])) {
    types.add(value === null ? "null" : Array.isArray(value) ? "array" : typeof value);
  }
  for (const branch of ((schema.oneOf ?? schema.anyOf) as Schema[] | undefined) ?? []) {
    for (const t of typesOf(doc, branch)) types.add(t);
  }
  return types;
}

/** The schema with its $ref followed and, for a oneOf/anyOf with null, its non-null branch. */
function effective(doc: unknown, raw: Schema): Schema {
  const schema = resolve(doc, raw)!;
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  const branch = branches?.find((b) => !typesOf(doc, b).has("null") || typesOf(doc, b).size > 1);
  return branch ? effective(doc, branch) : schema;
}

function resolve(doc: unknown, schema: Schema | undefined): Schema | undefined {
  let current = schema;
  for (let hops = 0; current && typeof current.$ref === "string"; hops++) {
    if (hops > 32 || !current.$ref.startsWith("#/")) throw new Error(`cannot resolve ${current.$ref}`);
    current = current.$ref
      .slice(2)
      .split("/")
      .reduce<unknown>(
        (node, key) => (node as Schema | undefined)?.[key.replaceAll("~1", "/").replaceAll("~0", "~")],
        doc,
      ) as Schema | undefined;
  }
  return current;
}
