// Validation straight from the contracts: the same openapi/*.yaml that generates the types is
// what checks request bodies and path IDs at run time, so the two can never drift apart.
import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";

export type ContractName = "bff" | "sandbox";

export interface InvalidPart {
  path: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: InvalidPart[] };

export interface ContractOperation {
  operationId: string;
  method: string;
  path: string;
  hasBody: boolean;
  /** Answered without authentication (`security: []` in the contract). */
  isPublic: boolean;
}

const httpMethods = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

// ajv-formats is CommonJS; its default export arrives wrapped under tsx and Vite alike.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => void;

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
}

export class Contract {
  readonly name: ContractName;
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  private readonly bodyValidators = new Map<string, ValidateFunction>();
  private readonly schemaValidators = new Map<string, ValidateFunction>();
  private readonly ops: ContractOperation[] = [];

  constructor(name: ContractName, specText: string) {
    this.name = name;
    this.document = parse(specText) as OpenApiDocument;
    // strict: false lets OpenAPI-only keywords (discriminator, example) pass; useDefaults fills
    // in the defaults the contract promises, e.g. `branch: main`.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, useDefaults: true, coerceTypes: false });
    addFormats(this.ajv);
    this.ajv.addSchema(this.document as object, name);
    for (const [path, item] of Object.entries(this.document.paths)) {
      for (const method of httpMethods) {
        const op = item[method] as
          | { operationId: string; requestBody?: { content?: Record<string, unknown> }; security?: unknown[] }
          | undefined;
        if (!op) continue;
        const hasBody = Boolean(op.requestBody?.content?.["application/json"]);
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        this.ops.push({ operationId: op.operationId, method: method.toUpperCase(), path, hasBody, isPublic });
        if (hasBody) {
          const pointer = `/paths/${escapePointer(path)}/${method}/requestBody/content/application~1json/schema`;
          this.bodyValidators.set(op.operationId, this.ajv.compile({ $ref: `${name}#${pointer}` }));
        }
      }
    }
  }

  operations(): readonly ContractOperation[] {
    return this.ops;
  }

  /** Checks (and fills defaults into) a JSON request body of an operation. */
  validateBody<T>(operationId: string, body: unknown): Validation<T> {
    const validate = this.bodyValidators.get(operationId);
    if (!validate) throw new Error(`${this.name} contract has no JSON body for ${operationId}`);
    // The contracts' rule for every string of every body (see their info): a NUL character has
    // no place in a name, a URL or a script, and PostgreSQL's text refuses it.
    const nuls = nulCharacters(body, "");
    if (nuls.length > 0) return { ok: false, errors: nuls };
    return run<T>(validate, body);
  }

  /** Checks a value against a named schema of components/schemas, e.g. `Id`. */
  validateSchema<T>(schemaName: string, value: unknown): Validation<T> {
    let validate = this.schemaValidators.get(schemaName);
    if (!validate) {
      if (!(schemaName in this.document.components.schemas)) {
        throw new Error(`${this.name} contract has no schema ${schemaName}`);
      }
      validate = this.ajv.compile({ $ref: `${this.name}#/components/schemas/${schemaName}` });
      this.schemaValidators.set(schemaName, validate);
    }
    return run<T>(validate, value);
  }
}

function run<T>(validate: ValidateFunction, value: unknown): Validation<T> {
  if (validate(value)) return { ok: true, value: value as T };
  return { ok: false, errors: describe(validate.errors ?? []) };
}

/** Every string (value or field name) holding U+0000, by its JSON pointer. */
function nulCharacters(value: unknown, pointer: string): InvalidPart[] {
  const message = "must not contain the NUL character (\\u0000)";
  if (typeof value === "string") return value.includes("\0") ? [{ path: pointer || "/", message }] : [];
  if (value === null || typeof value !== "object") return [];
  const parts: InvalidPart[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPointer = `${pointer}/${escapePointer(key)}`;
    if (key.includes("\0"))
      parts.push({ path: childPointer, message: "is a field name with the NUL character (\\u0000)" });
    else parts.push(...nulCharacters(child, childPointer));
  }
  return parts;
}

function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

// Turns Ajv's errors into one line per invalid part, in words a caller can act on. Errors of
// oneOf branches repeat each other, so only the first per path survives.
function describe(errors: ErrorObject[]): InvalidPart[] {
  const seen = new Set<string>();
  const parts: InvalidPart[] = [];
  for (const error of errors) {
    let path = error.instancePath || "/";
    let message = error.message ?? "is invalid";
    if (error.keyword === "additionalProperties") {
      const field = String((error.params as { additionalProperty: string }).additionalProperty);
      path = `${error.instancePath}/${field}`;
      message = "is not a known field";
    } else if (error.keyword === "required") {
      const field = String((error.params as { missingProperty: string }).missingProperty);
      path = `${error.instancePath}/${field}`;
      message = "is required";
    } else if (error.keyword === "oneOf" || error.keyword === "anyOf") {
      continue;
    }
    const key = `${path}:${message}`;
    if (seen.has(path) || seen.has(key)) continue;
    seen.add(path);
    seen.add(key);
    parts.push({ path, message });
  }
  return parts.length > 0 ? parts : [{ path: "/", message: "is invalid" }];
}

const cache = new Map<ContractName, Contract>();

/** The contract as it is on disk, parsed once per process. */
export function loadContract(name: ContractName): Contract {
  let contract = cache.get(name);
  if (!contract) {
    const specUrl = new URL(`../../../openapi/${name}.yaml`, import.meta.url);
    contract = new Contract(name, readFileSync(specUrl, "utf8"));
    cache.set(name, contract);
  }
  return contract;
}

/** The one pattern every ID must match before it becomes part of a path. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}
