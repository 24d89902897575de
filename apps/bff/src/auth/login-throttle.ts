// Slows down password guessing: after too many failed logins for one user name, or from one
// address, within a window, further attempts are refused with 429 until the oldest failure
// leaves the window. A success clears the user's failures. Counts live in this process: with
// several BFF processes each allows its own share (see docs/decisions/010).
interface ThrottleLimits {
  perUser: number;
  perAddress: number;
  windowMs: number;
}

const defaultLimits: ThrottleLimits = { perUser: 5, perAddress: 20, windowMs: 15 * 60_000 };

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: ThrottleLimits = defaultLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before another attempt for this user from this address; 0 when allowed. */
  retryAfter(user: string, address: string): number {
    const wait = Math.max(
      this.waitFor(`user:${user.toLowerCase()}`, this.limits.perUser),
      this.waitFor(`address:${address}`, this.limits.perAddress),
    );
    return Math.ceil(wait / 1000);
  }

  failed(user: string, address: string): void {
    for (const key of [`user:${user.toLowerCase()}`, `address:${address}`]) {
      const times = this.recent(key);
      times.push(this.now());
      this.failures.set(key, times);
    }
  }

  succeeded(user: string): void {
    this.failures.delete(`user:${user.toLowerCase()}`);
  }

  private waitFor(key: string, limit: number): number {
    const times = this.recent(key);
    if (times.length < limit) return 0;
    const oldestCounted = times[times.length - limit] ?? this.now();
    return Math.max(1000, oldestCounted + this.limits.windowMs - this.now());
  }

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const times = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }
}
