// The people of the e2e suite: the owner of every project the specs create, a member and a
// stranger. Each BFF's data directory is given them before the BFF starts (seed-users.ts).
import { readFileSync } from "node:fs";
import path from "node:path";
import { ports } from "./ports.ts";

export const users = {
  owner: { name: "olivia", password: "olivia's password for e2e" },
  member: { name: "max", password: "max's password for e2e" },
  stranger: { name: "sam", password: "sam's password for e2e" },
} as const;

export type E2eUser = keyof typeof users;

const dataRoot = path.join(import.meta.dirname, ".artifacts", "data");
const bffNames: Record<number, string> = {
  [ports.mockBff]: "bff-mock",
  [ports.realBff]: "bff-real",
  [ports.loneBff]: "bff-lone",
  [ports.modesBff]: "bff-modes",
  [ports.fleetBff]: "bff-fleet",
};

export function tokensFile(dataDir: string): string {
  return path.join(dataDir, "e2e-tokens.json");
}

/** The API token of an e2e user on the BFF at `baseURL`. */
export function apiToken(baseURL: string, user: E2eUser): string {
  const name = bffNames[Number(new URL(baseURL).port)];
  if (!name) throw new Error(`no e2e BFF at ${baseURL}`);
  const tokens = JSON.parse(readFileSync(tokensFile(path.join(dataRoot, name)), "utf8")) as Record<E2eUser, string>;
  return tokens[user];
}
