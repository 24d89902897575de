// Requests at a steady rate whatever the answers do (an open loop): each is sent at its planned
// moment and its latency counts from that moment, so a stall of the server shows in the
// latencies instead of quietly slowing the sender down, as it would in a closed loop.
import http from "node:http";

export interface SteadyLoad {
  url: string;
  headers: Record<string, string>;
  /** Requests per second. */
  rate: number;
  seconds: number;
}

export interface SteadyResult {
  /** Milliseconds from each request's planned moment to the end of its answer, sorted. */
  latencies: number[];
  /** Answers other than 2xx, and requests that failed. */
  failed: number;
}

export async function steadyLoad({ url, headers, rate, seconds }: SteadyLoad): Promise<SteadyResult> {
  // Enough connections that none is ever waited for at this rate unless the server stalls.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const total = Math.round(rate * seconds);
  const start = performance.now() + 20;
  const answers: Promise<number | null>[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const planned = start + (i * 1000) / rate;
      const wait = planned - performance.now();
      if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
      answers.push(get(agent, url, headers).then((ok) => (ok ? performance.now() - planned : null)));
    }
    const done = await Promise.all(answers);
    const latencies = done.filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
    return { latencies, failed: done.length - latencies.length };
  } finally {
    agent.destroy();
  }
}

/** The value below which `p` percent of the sorted `values` lie. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function get(agent: http.Agent, url: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on("error", () => resolve(false));
    });
    req.on("error", () => resolve(false));
  });
}
