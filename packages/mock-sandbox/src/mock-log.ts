// A run's output as the mock sandbox keeps it (a build's or a test session's): text a test
// appends, read from the start, and followed until the run ends, as the real service streams it.
export class MockLog {
  private text = "";
  private readonly followers = new Set<() => void>();

  append(text: string): void {
    this.text += text;
    this.wake();
  }

  /** Tells whoever follows the log to look again: output came, or the run ended. */
  wake(): void {
    for (const follower of [...this.followers]) follower();
  }

  toString(): string {
    return this.text;
  }

  /** The log from the start; when following, new output for as long as `running()` says so. */
  stream(follow: boolean, running: () => boolean): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let sent = 0;
    let stop: (() => void) | null = null;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const flush = () => {
          if (this.text.length > sent) {
            controller.enqueue(encoder.encode(this.text.slice(sent)));
            sent = this.text.length;
          }
          if (!follow || !running()) {
            stop?.();
            controller.close();
          }
        };
        this.followers.add(flush);
        stop = () => {
          this.followers.delete(flush);
          stop = null;
        };
        flush();
      },
      cancel: () => stop?.(),
    });
  }
}
