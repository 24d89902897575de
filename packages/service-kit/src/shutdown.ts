// Invariant: a service that is asked to stop answers every request it already accepted, unless
// that takes longer than its timeout; it accepts no new connection meanwhile, and its event
// streams end with a hint to reconnect later. A second signal ends the process at once.
//
// In this order: stop accepting (the listeners close; idle kept-alive connections are dropped),
// end the event streams and whatever else watches `shutdownSignal`, stop the service's own work,
// wait for the requests still running, then `finish` (close the database) and exit 0. Past the
// timeout the open connections are cut and the process exits 1, saying how many there were.
import type { EventEmitter } from "node:events";
import type { Server } from "node:http";

const shutdown = new AbortController();

/** Aborted when the process starts shutting down: long-lived answers (streams, followed logs) end on it. */
export const shutdownSignal: AbortSignal = shutdown.signal;

export interface ShutdownLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface GracefulShutdown {
  /** The main listener first; others (metrics) may be null. */
  servers: readonly (Server | null | undefined)[];
  timeoutMs: number;
  logger: ShutdownLogger;
  /** Stops the service's own work (builds, monitors) once nothing new can arrive. */
  stop: () => Promise<unknown>;
  /** Runs once the requests in flight are answered, e.g. closing the database. */
  finish?: () => Promise<unknown>;
  /** For tests: where signals come from and how the process ends. */
  signals?: EventEmitter;
  exit?: (code: number) => void;
}

export function shutDownOnSignals(options: GracefulShutdown): void {
  const signals = options.signals ?? (process as unknown as EventEmitter);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const { logger } = options;
  const servers = options.servers.filter((server): server is Server => Boolean(server));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    signals.on(signal, () => {
      if (shutdown.signal.aborted) {
        logger.warn({ signal }, "second signal: stopping now");
        exit(1);
        return;
      }
      logger.info({ signal, timeoutMs: options.timeoutMs }, "shutting down: no new connections");
      const timer = setTimeout(async () => {
        const open = (await Promise.all(servers.map(connectionCount))).reduce((sum, n) => sum + n, 0);
        logger.warn({ openConnections: open, timeoutMs: options.timeoutMs }, "shutdown timed out; cutting connections");
        for (const server of servers) server.closeAllConnections();
        exit(1);
      }, options.timeoutMs);
      const closed = Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
      shutdown.abort();
      void Promise.all([options.stop().catch(() => undefined), closed])
        .then(() => options.finish?.())
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          logger.info({}, "stopped");
          exit(0);
        });
    });
  }
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((_error, n) => resolve(n ?? 0)));
}
