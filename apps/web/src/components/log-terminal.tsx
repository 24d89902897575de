// The terminal inside the build and test session viewers: xterm.js renders a log's bytes as a
// terminal would, ANSI colours included. Loaded lazily by the terminal frame.
import "@xterm/xterm/css/xterm.css";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef } from "react";

/** Reads a log from its first byte, handing each chunk over; with `follow`, until it ends. */
type LogReader = (options: {
  follow: boolean;
  signal: AbortSignal;
  onChunk: (bytes: Uint8Array) => void;
}) => Promise<void>;

export interface LogTerminalProps {
  readLog: LogReader;
  follow: boolean;
  /** What the output is of, in words: "build", "test session". */
  what: string;
  testId: string;
}

export default function LogTerminal({ readLog, follow, what, testId }: LogTerminalProps) {
  const host = useRef<HTMLDivElement>(null);
  // Whether to follow is decided when the terminal opens: a followed log ends by itself when
  // the build (or test session) does, so its ending must not restart the stream.
  const followAtOpen = useRef(follow);
  // One terminal per log (the frame keys it by the log); the reader is the one it opened with.
  const opened = useRef({ readLog, what });

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const terminal = new Terminal({
      convertEol: true,
      disableStdin: true,
      cursorBlink: false,
      scrollback: 20_000,
      fontSize: 13,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      // A dark palette whose blue and grey stay readable on the dark background.
      theme: {
        background: "#0d1117",
        foreground: "#e6edf3",
        black: "#484f58",
        red: "#ff7b72",
        green: "#3fb950",
        yellow: "#d29922",
        blue: "#58a6ff",
        magenta: "#bc8cff",
        cyan: "#39c5cf",
        white: "#b1bac4",
        brightBlack: "#6e7681",
        brightRed: "#ffa198",
        brightGreen: "#56d364",
        brightYellow: "#e3b341",
        brightBlue: "#79c0ff",
        brightMagenta: "#d2a8ff",
        brightCyan: "#56d4dd",
        brightWhite: "#f0f6fc",
      },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    fit.fit();
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(element);

    const abort = new AbortController();
    const following = followAtOpen.current;
    const { readLog: read, what: kind } = opened.current;
    read({
      follow: following,
      signal: abort.signal,
      onChunk: (bytes) => terminal.write(bytes),
    })
      .then(() => {
        if (following) terminal.write(`\r\n\x1b[2m— end of ${kind} output —\x1b[0m\r\n`);
      })
      .catch((error: Error) => {
        if (abort.signal.aborted) return;
        terminal.write(`\r\n\x1b[31mCould not load the ${kind} output: ${error.message}\x1b[0m\r\n`);
      });

    return () => {
      abort.abort();
      resize.disconnect();
      terminal.dispose();
    };
  }, []);

  return <div ref={host} data-testid={testId} style={{ position: "absolute", inset: 8 }} />;
}
