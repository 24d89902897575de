import { formatExact } from "../lib/format.ts";

/**
 * A relative time ("2h ago") whose exact value shows on hover (the browser's own tooltip, which
 * costs no script) and is read out by assistive technology as its description.
 */
export function RelativeTime({ iso, children }: { iso: string; children: string }) {
  return (
    <time dateTime={iso} title={formatExact(iso)}>
      {children}
    </time>
  );
}
