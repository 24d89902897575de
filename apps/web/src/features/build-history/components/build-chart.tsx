// Golden size and build duration over the recent builds, oldest on the left. Loaded on demand:
// the charting library is the heaviest part of the page and most visits never open it.
import { LineChart } from "@mui/x-charts/LineChart";
import type { Build } from "../api/list-builds.ts";

export default function BuildChart({ builds }: { builds: Build[] }) {
  const finished = builds.filter((build) => build.status !== "running").reverse();
  const labels = finished.map((build) =>
    new Date(build.started_at).toLocaleDateString(undefined, { month: "short", day: "numeric" }),
  );
  return (
    <figure style={{ margin: 0 }} aria-label="Golden size and build duration over the recent builds">
      <LineChart
        height={240}
        xAxis={[
          { scaleType: "point", data: finished.map((_, i) => i), valueFormatter: (i: number) => labels[i] ?? "" },
        ]}
        yAxis={[
          { id: "size", label: "GB", position: "left" },
          { id: "duration", label: "minutes", position: "right" },
        ]}
        series={[
          {
            label: "Golden size (GB)",
            yAxisId: "size",
            data: finished.map((build) => (build.size_bytes === null ? null : build.size_bytes / 1e9)),
            connectNulls: true,
            showMark: true,
          },
          {
            label: "Build duration (min)",
            yAxisId: "duration",
            data: finished.map((build) => (build.duration_seconds === null ? null : build.duration_seconds / 60)),
            showMark: true,
          },
        ]}
      />
      <figcaption style={{ position: "absolute", width: 1, height: 1, overflow: "hidden", clip: "rect(0 0 0 0)" }}>
        {finished.length} builds: sizes from {sizes(finished)}
      </figcaption>
    </figure>
  );
}

function sizes(builds: Build[]): string {
  const values = builds.map((b) => b.size_bytes).filter((v): v is number => v !== null);
  if (values.length === 0) return "none";
  return `${(Math.min(...values) / 1e9).toFixed(1)} GB to ${(Math.max(...values) / 1e9).toFixed(1)} GB`;
}
