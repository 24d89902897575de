// GitHub webhook deliveries: whether one is genuine (HMAC-SHA256 of the raw body with the
// project's secret, compared in constant time), and whether it is a merge to the default branch.
import { createHmac, timingSafeEqual } from "node:crypto";

export function verifySignature(secret: string, rawBody: Uint8Array, header: string | undefined): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const given = Buffer.from(header.slice("sha256=".length), "hex");
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function signature(secret: string, rawBody: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}

type WebhookMeaning = { kind: "merge"; commitSha: string; reason: string } | { kind: "ignored"; reason: string };

interface PushPayload {
  ref?: string;
  after?: string;
  deleted?: boolean;
}

interface PullRequestPayload {
  action?: string;
  number?: number;
  pull_request?: { merged?: boolean; merge_commit_sha?: string | null; base?: { ref?: string } };
}

const commitPattern = /^[0-9a-f]{7,64}$/;

/** What a delivery means for the project's golden. */
export function interpretGithubEvent(event: string, payload: unknown, defaultBranch: string): WebhookMeaning {
  const branchRef = `refs/heads/${defaultBranch}`;
  if (event === "ping") return { kind: "ignored", reason: "ping: the webhook reaches this project" };
  if (event === "push") {
    const push = payload as PushPayload;
    if (push.ref !== branchRef) {
      return {
        kind: "ignored",
        reason: `push to ${push.ref ?? "an unknown ref"}, not to the default branch (${branchRef})`,
      };
    }
    if (push.deleted || !push.after || /^0+$/.test(push.after)) {
      return { kind: "ignored", reason: `push deleted ${branchRef}` };
    }
    if (!commitPattern.test(push.after)) return { kind: "ignored", reason: "push without a commit ID" };
    return { kind: "merge", commitSha: push.after, reason: `push to ${branchRef} (${push.after.slice(0, 12)})` };
  }
  if (event === "pull_request") {
    const pr = payload as PullRequestPayload;
    const name = `pull request #${pr.number ?? "?"}`;
    if (pr.action !== "closed") return { kind: "ignored", reason: `${name} was ${pr.action ?? "changed"}, not merged` };
    if (pr.pull_request?.merged !== true) return { kind: "ignored", reason: `${name} was closed without merging` };
    const base = pr.pull_request.base?.ref;
    if (base !== defaultBranch) {
      return { kind: "ignored", reason: `${name} was merged into ${base ?? "another branch"}, not ${defaultBranch}` };
    }
    const commit = pr.pull_request.merge_commit_sha;
    if (!commit || !commitPattern.test(commit)) return { kind: "ignored", reason: `${name} has no merge commit` };
    return {
      kind: "merge",
      commitSha: commit,
      reason: `${name} merged into ${defaultBranch} (${commit.slice(0, 12)})`,
    };
  }
  return { kind: "ignored", reason: `${event} events do not change the default branch` };
}
