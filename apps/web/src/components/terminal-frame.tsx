// The 16:9 dark frame both viewers show a log in; the terminal inside is loaded when it opens.
import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";
import { lazy, Suspense } from "react";
import type { LogTerminalProps } from "./log-terminal.tsx";

const LogTerminal = lazy(() => import("./log-terminal.tsx"));

/** `logKey` names the log: a new one opens a new terminal. */
export function TerminalFrame({ logKey, ...terminal }: LogTerminalProps & { logKey: string }) {
  return (
    <Box
      sx={{
        aspectRatio: "16 / 9",
        width: "100%",
        bgcolor: "#0d1117",
        borderRadius: 1,
        overflow: "hidden",
        position: "relative",
      }}
    >
      <Suspense fallback={<CircularProgress size={24} aria-label="Loading the terminal" />}>
        <LogTerminal key={logKey} {...terminal} />
      </Suspense>
    </Box>
  );
}
