// Webhook secrets at rest. They must be read back (to check a delivery's HMAC), so they cannot be
// hashed like passwords; they are sealed with AES-256-GCM instead, under a key that is never in
// the database: a backup of the database alone leaks none of them.
// The key is WEBHOOK_SECRET_KEY (32 bytes, base64; every BFF replica on one PostgreSQL server
// needs the same), else `webhook-secret.key` in DATA_DIR, made (0600) at the first start.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const prefix = "sealed:v1:";

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    this.key = key;
    if (key.length !== 32) throw new Error("A secret key is 32 bytes (AES-256)");
  }

  /** `sealed:v1:<iv>.<tag>.<ciphertext>`, base64url. */
  seal(secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return `${prefix}${[iv, cipher.getAuthTag(), sealed].map((part) => part.toString("base64url")).join(".")}`;
  }

  /** The secret; a value stored before secrets were sealed is returned as it is. Throws on another key. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const [iv, tag, sealed] = stored
      .slice(prefix.length)
      .split(".")
      .map((part) => Buffer.from(part, "base64url"));
    if (!iv || !tag || !sealed) throw new Error("A sealed secret has three parts");
    const decipher = createDecipheriv("aes-256-gcm", this.key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString("utf8");
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(prefix);
  }
}

/** The key from the environment, or the data directory's key file, made on the first start. */
export async function loadSecretKey(options: { keyBase64: string | null; dataDir: string }): Promise<Buffer> {
  if (options.keyBase64) return Buffer.from(options.keyBase64, "base64");
  const file = path.join(options.dataDir, "webhook-secret.key");
  try {
    return Buffer.from((await readFile(file, "utf8")).trim(), "base64");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const key = randomBytes(32);
  // `wx`: two first starts at once cannot both make one; the loser reads the winner's.
  await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" }).catch(async (error) => {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  });
  return Buffer.from((await readFile(file, "utf8")).trim(), "base64");
}
