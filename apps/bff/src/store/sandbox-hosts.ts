// The fleet as the database keeps it: each sandbox host's label, URL, sealed token and state.
// Every change NOTIFYs `prewarm_fleet`, so every BFF process on the database (sandbox/fleet.ts)
// takes it up at once; tokens are opened only here, and never leave the BFF.
import { randomUUID } from "node:crypto";
import type { components } from "@prewarm/api-types/bff";
import type { SecretBox } from "../auth/secret-box.ts";
import type { SqlClient } from "./sql-client.ts";

export type SandboxHostState = components["schemas"]["SandboxHostState"];

export const fleetChannel = "prewarm_fleet";

/** The contract's HostLabel. */
export const hostLabelPattern = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const hostLabelRule = "lower-case letters, digits and -, at most 32 characters, not starting with -";

export interface SandboxHostRow {
  id: string;
  label: string;
  url: string;
  token: string | null;
  /** The token is sealed with another key than this BFF's: the host cannot be used. */
  token_unreadable: boolean;
  state: SandboxHostState;
  from_environment: boolean;
  added_at: string;
}

interface StoredRow extends Omit<SandboxHostRow, "token" | "token_unreadable" | "added_at"> {
  token_sealed: string | null;
  added_at: Date | string;
}

export type AddOutcome = SandboxHostRow | "label_taken" | "url_taken" | "bad_url";
export type RemoveOutcome = "removed" | "not_found" | "busy" | "from_environment";

const announce = `SELECT pg_notify('${fleetChannel}', '')`;

export class SandboxHosts {
  private readonly sql: SqlClient;
  private readonly box: SecretBox;

  constructor(sql: SqlClient, box: SecretBox) {
    this.sql = sql;
    this.box = box;
  }

  async list(): Promise<SandboxHostRow[]> {
    const rows = await this.sql.query<StoredRow>("SELECT * FROM sandbox_hosts ORDER BY label");
    return rows.map((row) => this.open(row));
  }

  async add(host: { label: string; url: string; token: string | null; state?: SandboxHostState }): Promise<AddOutcome> {
    if (!isHostUrl(host.url)) return "bad_url";
    const url = normalUrl(host.url);
    const taken = await this.sql.query<{ label: string; url: string }>(
      "SELECT label, url FROM sandbox_hosts WHERE label = $1 OR url = $2",
      [host.label, url],
    );
    if (taken.some((row) => row.label === host.label)) return "label_taken";
    if (taken.length > 0) return "url_taken";
    const rows = await this.sql.query<StoredRow>(
      `INSERT INTO sandbox_hosts (id, label, url, token_sealed, state) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING *`,
      [newHostId(), host.label, url, host.token === null ? null : this.box.seal(host.token), host.state ?? "active"],
    );
    // Another request took the label or URL between the two statements.
    if (!rows[0]) return "label_taken";
    await this.sql.query(announce);
    return this.open(rows[0]);
  }

  async setState(label: string, state: SandboxHostState): Promise<SandboxHostRow | null> {
    const rows = await this.sql.query<StoredRow>("UPDATE sandbox_hosts SET state = $2 WHERE label = $1 RETURNING *", [
      label,
      state,
    ]);
    if (!rows[0]) return null;
    await this.sql.query(announce);
    return this.open(rows[0]);
  }

  /** Removes a host that runs no build; the environment's host goes only with its variable. */
  async remove(label: string): Promise<RemoveOutcome> {
    const rows = await this.sql.query<{ outcome: RemoveOutcome }>(
      `WITH host AS (SELECT * FROM sandbox_hosts WHERE label = $1),
            busy AS (SELECT 1 FROM builds b JOIN host h ON b.host_id = h.id WHERE b.status = 'running'),
            gone AS (DELETE FROM sandbox_hosts WHERE id IN (SELECT id FROM host WHERE NOT from_environment)
                       AND NOT EXISTS (SELECT 1 FROM busy) RETURNING id)
       SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM host) THEN 'not_found'
                   WHEN (SELECT from_environment FROM host) THEN 'from_environment'
                   WHEN EXISTS (SELECT 1 FROM gone) THEN 'removed'
                   ELSE 'busy' END AS outcome`,
      [label],
    );
    const outcome = rows[0]?.outcome ?? "not_found";
    if (outcome === "removed") await this.sql.query(announce);
    return outcome;
  }

  /**
   * SANDBOX_URL's host, a fleet of one: registered (or brought up to date) at every start, and
   * dropped when the variable is emptied. A label or URL an operator gave another host is refused.
   */
  async registerEnvironmentHost(host: { label: string; url: string; token: string | null } | null): Promise<void> {
    if (host === null) {
      const gone = await this.sql.query("DELETE FROM sandbox_hosts WHERE from_environment RETURNING id");
      if (gone.length > 0) await this.sql.query(announce);
      return;
    }
    const url = normalUrl(host.url);
    const clash = await this.sql.query<{ label: string }>(
      "SELECT label FROM sandbox_hosts WHERE NOT from_environment AND (label = $1 OR url = $2)",
      [host.label, url],
    );
    if (clash[0]) {
      throw new Error(
        `SANDBOX_URL's host (${host.label}, ${url}) clashes with the registered host ${clash[0].label}; set SANDBOX_LABEL to another label, or empty SANDBOX_URL to use the registered hosts alone`,
      );
    }
    const token = host.token === null ? null : this.box.seal(host.token);
    await this.sql.query(
      `INSERT INTO sandbox_hosts (id, label, url, token_sealed, state, from_environment) VALUES ($1, $2, $3, $4, 'active', true)
       ON CONFLICT (from_environment) WHERE from_environment
       DO UPDATE SET label = excluded.label, url = excluded.url, token_sealed = excluded.token_sealed`,
      [newHostId(), host.label, url, token],
    );
    await this.sql.query(announce);
  }

  private open(row: StoredRow): SandboxHostRow {
    const { token_sealed, ...rest } = row;
    let token: string | null = null;
    let unreadable = false;
    try {
      token = token_sealed === null ? null : this.box.open(token_sealed);
    } catch {
      unreadable = true;
    }
    return { ...rest, token, token_unreadable: unreadable, added_at: new Date(row.added_at).toISOString() };
  }
}

/** An http or https URL of a service: no user, password, query or fragment. */
export function isHostUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.username === "" &&
    url.password === "" &&
    url.search === "" &&
    url.hash === "" &&
    !text.includes("?") &&
    !text.includes("#")
  );
}

/** One spelling per host, so one host cannot be added twice as `http://h:1` and `http://h:1/`. */
export function normalUrl(url: string): string {
  return new URL(url).toString().replace(/\/+$/, "");
}

function newHostId(): string {
  return `sbx_${randomUUID().replaceAll("-", "")}`;
}
