// Slows down password guessing: after too many failed logins for one user name, or from one
// address, within a window, further attempts are refused with 429 until the oldest failure
// leaves the window. A success clears the user's failures. The failures are counted in the
// database, so any number of BFF processes on one PostgreSQL server allow the same guesses as one.
import type { SqlClient } from "../store/sql-client.ts";

interface ThrottleLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
}

const defaultLimits: ThrottleLimits = { perUser: 5, perAddress: 20, windowMs: 15 * 60_000 };

export class LoginThrottle {
  private readonly sql: SqlClient;
  private readonly limits: ThrottleLimits;
  private readonly now: () => number;

  constructor(sql: SqlClient, limits: ThrottleLimits = defaultLimits, now: () => number = Date.now) {
    this.sql = sql;
    this.limits = limits;
    this.now = now;
  }

  /** Seconds to wait before another attempt for this user from this address; 0 when allowed. */
  async retryAfter(user: string, address: string): Promise<number> {
    const wait = Math.max(
      await this.waitFor(userKey(user), this.limits.perUser),
      await this.waitFor(`address:${address}`, this.limits.perAddress),
    );
    return Math.ceil(wait / 1000);
  }

  async failed(user: string, address: string): Promise<void> {
    const now = this.now();
    await this.sql.query("INSERT INTO login_failures (key, failed_at_ms) VALUES ($1, $3), ($2, $3)", [
      userKey(user),
      `address:${address}`,
      now,
    ]);
    // Failures older than the window count for nothing: they go as new ones come.
    await this.sql.query("DELETE FROM login_failures WHERE failed_at_ms <= $1", [now - this.limits.windowMs]);
  }

  async succeeded(user: string): Promise<void> {
    await this.sql.query("DELETE FROM login_failures WHERE key = $1", [userKey(user)]);
  }

  private async waitFor(key: string, limit: number): Promise<number> {
    const now = this.now();
    // The newest `limit` failures in the window: with all of them there, the oldest decides.
    const rows = await this.sql.query<{ failed_at_ms: string | number }>(
      `SELECT failed_at_ms FROM login_failures WHERE key = $1 AND failed_at_ms > $2
       ORDER BY failed_at_ms DESC LIMIT $3`,
      [key, now - this.limits.windowMs, limit],
    );
    if (rows.length < limit) return 0;
    const oldestCounted = Number(rows[rows.length - 1]?.failed_at_ms ?? now);
    return Math.max(1000, oldestCounted + this.limits.windowMs - now);
  }
}

const userKey = (user: string) => `user:${user.toLowerCase()}`;
