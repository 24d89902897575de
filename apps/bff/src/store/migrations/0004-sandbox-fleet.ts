// The fleet: the sandbox hosts builds and sessions go to, which host each build and test session
// was sent to, each host's golden of each project, deletions a host still owes, and who among
// the users runs the hosts.
import type { SqlStatements } from "../sql-client.ts";

export async function up(sql: SqlStatements): Promise<void> {
  await sql.exec(`
-- Operators manage the hosts (the operator API, decision 018); they are not thereby anything to
-- any project.
ALTER TABLE users ADD COLUMN operator boolean NOT NULL DEFAULT false;

-- token_sealed: the host's SANDBOX_TOKEN sealed with the BFF's secret key (auth/secret-box.ts).
-- from_environment: the host of SANDBOX_URL, registered again at every start.
CREATE TABLE sandbox_hosts (
  id text PRIMARY KEY,
  label text NOT NULL UNIQUE,
  url text NOT NULL UNIQUE,
  token_sealed text,
  state text NOT NULL CHECK (state IN ('active', 'draining')),
  from_environment boolean NOT NULL DEFAULT false,
  added_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sandbox_hosts_one_from_environment ON sandbox_hosts (from_environment) WHERE from_environment;

-- Set once, when the build is placed: every BFF process sends it there and nowhere else. Kept
-- when the host is removed (no foreign key), so a build is never placed twice: its host is then
-- known to be gone. Null only until placed.
ALTER TABLE builds ADD COLUMN host_id text;
CREATE INDEX builds_running_by_host ON builds (host_id) WHERE status = 'running';

-- Each host's golden of each project, as the BFF last heard: the generation (the build that made
-- it), whether it is there or on its way (replicating, with progress) or failed to come, and why.
CREATE TABLE host_goldens (
  host_id text NOT NULL REFERENCES sandbox_hosts (id) ON DELETE CASCADE,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  build_id text NOT NULL,
  -- When that build started: generations are ordered by it (builds are pruned, this is not).
  generation_at timestamptz NOT NULL,
  state text NOT NULL CHECK (state IN ('ready', 'replicating', 'failed')),
  progress real NOT NULL DEFAULT 0,
  size_bytes bigint NOT NULL DEFAULT 0,
  error text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (host_id, project_id)
);

-- The last deletion of a project's golden asked of each host, and when the host did it (null:
-- it owes it, being down). Owed ones are done before anything else of the project is sent to the
-- host; a replication asked before the last deletion of its project is never recorded as ready.
CREATE TABLE golden_deletions (
  host_id text NOT NULL REFERENCES sandbox_hosts (id) ON DELETE CASCADE,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  requested_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz,
  PRIMARY KEY (host_id, project_id)
);

-- Where each test session runs; the sandbox keeps the run itself.
CREATE TABLE test_sessions (
  id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  host_id text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  -- The generation of the cache it started from, as it stood then: set once it is prepared.
  cache_build_id text,
  cache_commit_sha text,
  cache_newest boolean,
  cache_merges_behind integer
);
`);
}
