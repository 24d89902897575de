// Reading a build's log: everything from an offset, and, when following, every byte written
// after that until the build has ended and the last byte has been sent.
import { watch } from "node:fs";
import { open } from "node:fs/promises";

const chunkSize = 64 * 1024;
const pollMs = 250;

export function streamLog(options: {
  path: string;
  offset: number;
  follow: boolean;
  /** Resolves once the build has ended and nothing more will be written. */
  ended: Promise<void>;
}): ReadableStream<Uint8Array> {
  let position = options.offset;
  let cancelled = false;
  let ended = false;
  let wake: (() => void) | null = null;
  void options.ended.then(() => {
    ended = true;
    wake?.();
  });
  const watcher = options.follow
    ? (() => {
        try {
          return watch(options.path, () => wake?.());
        } catch {
          return null;
        }
      })()
    : null;
  const stop = () => {
    cancelled = true;
    watcher?.close();
    wake?.();
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const handle = await open(options.path, "r");
      try {
        for (;;) {
          if (cancelled) return;
          const endedBeforeRead = ended;
          const buffer = Buffer.alloc(chunkSize);
          const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
          if (bytesRead > 0) {
            position += bytesRead;
            controller.enqueue(new Uint8Array(buffer.subarray(0, bytesRead)));
            return;
          }
          // Nothing new. Done unless following a build that was still going before this read.
          if (!options.follow || endedBeforeRead) {
            watcher?.close();
            controller.close();
            return;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
      } finally {
        await handle.close();
      }
    },
    cancel() {
      stop();
    },
  });
}
