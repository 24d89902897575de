// Secrets the BFF hands out (session cookies, API tokens, login links) and the passwords it is
// given. Only hashes are stored: a leaked database lets nobody log in. Handed-out secrets are 256
// random bits, so a plain SHA-256 is enough to store them; passwords are people's, so they get
// scrypt with a salt of their own.
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** A new secret, safe in URLs and headers; `prefix` tells what it is when it turns up somewhere. */
export function newSecret(prefix = ""): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** scrypt's work factors; the hash records them, so they can be raised without locking anyone out. */
interface Cost {
  N: number;
  r: number;
  p: number;
}

/**
 * Today's guidance: N = 2^17, r = 8, p = 1 (128 MiB and about a quarter second per hash).
 * PASSWORD_SCRYPT_N lowers it where that is wanted (the test suites); hashes made with other
 * parameters are replaced at their owner's next successful login.
 */
function passwordCost(): Cost {
  return { N: scryptN(process.env.PASSWORD_SCRYPT_N), r: 8, p: 1 };
}

/**
 * PASSWORD_SCRYPT_N: a power of two from 2^10 to 2^20, 2^17 when unset. A bad value stops the BFF
 * at start (env.ts lists it with the others) rather than at the first password hashed.
 */
export function scryptN(raw: string | undefined): number {
  if (raw === undefined) return 2 ** 17;
  const n = /^[0-9]{1,8}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 2 ** 10 && n <= 2 ** 20 && (n & (n - 1)) === 0)) {
    throw new Error(`PASSWORD_SCRYPT_N must be a power of two from 1024 to 1048576, not "${raw.slice(0, 20)}"`);
  }
  return n;
}
const keyLength = 32;

/** At most this many hashes at once: each takes 128 MiB and a CPU; the rest wait their turn. */
const maxConcurrentHashes = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function derive(password: string, salt: Buffer, cost: Cost): Promise<Buffer> {
  if (running >= maxConcurrentHashes) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    // scrypt needs 128 × N × r bytes; Node's default ceiling (32 MiB) is below N = 2^17.
    const maxmem = 2 * 128 * cost.N * cost.r;
    return await new Promise((resolve, reject) =>
      scrypt(password.normalize("NFKC"), salt, keyLength, { ...cost, maxmem }, (err, key) =>
        err ? reject(err) : resolve(key),
      ),
    );
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const describeCost = ({ N, r, p }: Cost) => `N=${N},r=${r},p=${p}`;

/** `scrypt$N=…,r=…,p=…$salt$key`; hashes from before the parameters were recorded are `scrypt$salt$key` at N=2^14. */
function parse(stored: string): { cost: Cost; salt: string; key: string } | null {
  const parts = stored.split("$");
  if (parts[0] !== "scrypt") return null;
  if (parts.length === 3) return { cost: { N: 16384, r: 8, p: 1 }, salt: parts[1] ?? "", key: parts[2] ?? "" };
  const match = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(parts[1] ?? "");
  if (parts.length !== 4 || !match) return null;
  const cost = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  // Bounded, so a damaged row cannot ask for gigabytes.
  if (cost.N > 2 ** 20 || cost.r > 32 || cost.p > 16) return null;
  return { cost, salt: parts[2] ?? "", key: parts[3] ?? "" };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const cost = passwordCost();
  const key = await derive(password, salt, cost);
  return `scrypt$${describeCost(cost)}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** Whether a stored hash was made with other parameters than today's, and should be made again. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return parsed === null || describeCost(parsed.cost) !== describeCost(passwordCost());
}

// Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
let decoy: Promise<string> | undefined;

/** Whether `password` matches `stored`; a missing hash never matches but costs the same time. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  decoy ??= hashPassword(newSecret());
  const parsed = parse(stored ?? (await decoy));
  if (!parsed?.salt || !parsed.key) return false;
  const expected = Buffer.from(parsed.key, "base64url");
  const actual = await derive(password, Buffer.from(parsed.salt, "base64url"), parsed.cost);
  return stored !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}
