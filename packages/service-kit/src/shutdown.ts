// Both services end the same way: the first SIGINT or SIGTERM stops what they run, and the
// process exits once that is done, whatever it threw; a second signal meanwhile changes nothing.
export function stopOnSignals(stop: (signal: NodeJS.Signals) => Promise<unknown>): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void stop(signal)
        .catch(() => undefined)
        .finally(() => process.exit(0));
    });
  }
}
