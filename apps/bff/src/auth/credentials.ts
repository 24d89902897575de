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

const cost = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const keyLength = 32;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keyLength, cost, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  return `scrypt$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

// Checked against when the user does not exist, so a wrong name costs as long as a wrong password.
const decoy = hashPassword(newSecret());

/** Whether `password` matches `stored`; a missing hash never matches but costs the same time. */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const [scheme, salt, key] = (stored ?? (await decoy)).split("$");
  if (scheme !== "scrypt" || !salt || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await derive(password, Buffer.from(salt, "base64url"));
  return stored !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}
