// The schema as it stood when migrations began to be numbered. Every statement is idempotent, so
// this also runs on a database made before then: it adds whatever an older version had not yet
// made and leaves the rest, data included, as it is (docs/decisions/014-versioned-migrations.md).
import type { SqlStatements } from "../sql-client.ts";

export async function up(sql: SqlStatements): Promise<void> {
  await sql.exec(schema);
}

const schema = `
CREATE TABLE IF NOT EXISTS projects (
  id text PRIMARY KEY,
  name text NOT NULL,
  repository_url text,
  default_branch text NOT NULL DEFAULT 'main',
  startup_script text NOT NULL DEFAULT '',
  auto_warm_docker_cache boolean NOT NULL DEFAULT false,
  main_commit text,
  cache_status text NOT NULL DEFAULT 'none' CHECK (cache_status IN ('none', 'building', 'ready', 'failed')),
  cache_size_bytes bigint NOT NULL DEFAULT 0,
  cache_last_build_at timestamptz,
  cache_last_ready_at timestamptz,
  cache_build_id text,
  cache_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Grows by one with every change, so a reader can tell a newer state from an older one.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0;
-- Settings of the orchestration.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS build_timeout_seconds integer;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS pause_after_failures integer NOT NULL DEFAULT 3;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS webhook_secret text;
-- The one follow-up build queued behind the running one (latest trigger wins).
ALTER TABLE projects ADD COLUMN IF NOT EXISTS queued_trigger text;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS queued_commit text;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS queued_at timestamptz;
-- Staleness: merges to main counted, and the count when the golden's build started.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS main_merges bigint NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS golden_commit text;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS golden_merges bigint;
-- Auto-pause after failed builds, and eviction by the sandbox.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS consecutive_failures integer NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS paused_at timestamptz;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS evicted_at timestamptz;

CREATE TABLE IF NOT EXISTS builds (
  id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  trigger text NOT NULL,
  commit_sha text,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'stopped', 'interrupted')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  error text,
  size_bytes bigint
);
-- Set once the sandbox has accepted the build; a running build without it is still to be sent.
ALTER TABLE builds ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;
ALTER TABLE builds ADD COLUMN IF NOT EXISTS merges bigint NOT NULL DEFAULT 0;
ALTER TABLE builds ADD COLUMN IF NOT EXISTS timeout_seconds integer NOT NULL DEFAULT 1800;
-- The Docker daemon the build's script had (its version and storage driver); null for none.
ALTER TABLE builds ADD COLUMN IF NOT EXISTS docker_version text;
ALTER TABLE builds ADD COLUMN IF NOT EXISTS docker_storage_driver text;
-- The database itself refuses a second running build of a project.
CREATE UNIQUE INDEX IF NOT EXISTS builds_one_running_per_project ON builds (project_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS builds_by_project ON builds (project_id, started_at DESC);

-- Git host deliveries already handled, so a replayed one is ignored.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  delivery_id text PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- People, and how they prove who they are. Only hashes of secrets are kept.
CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  password_hash text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE TABLE IF NOT EXISTS login_links (
  token_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL
);
-- Who may see and change a project: its owner changes it, its members see it.
ALTER TABLE projects ADD COLUMN IF NOT EXISTS owner_id text REFERENCES users (id);
CREATE TABLE IF NOT EXISTS project_members (
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);
-- Every startup script a project was saved with, and who saved it, for [History].
CREATE TABLE IF NOT EXISTS script_versions (
  id bigserial PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  startup_script text NOT NULL,
  saved_by text REFERENCES users (id) ON DELETE SET NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS script_versions_by_project ON script_versions (project_id, id DESC);
-- Failed logins within the throttle's window, per user name and per address (auth/login-throttle.ts).
CREATE TABLE IF NOT EXISTS login_failures (
  key text NOT NULL,
  failed_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures (key, failed_at_ms DESC);
`;
