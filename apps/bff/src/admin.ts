// The operator's command line: users, passwords, login links, API tokens and members, on the
// same database the BFF uses (DATA_DIR or DATABASE_URL, as for the BFF).
//
//   npm run admin -- add-user <name> [--password-stdin]
//   npm run admin -- set-password <name>            (the password is read from standard input)
//   npm run admin -- login-link <name>
//   npm run admin -- add-token <name> [--label <label>]
//   npm run admin -- revoke-tokens <name>
//   npm run admin -- add-member <project id> <user name>
//   npm run admin -- remove-member <project id> <user name>
//   npm run admin -- users
//   npm run admin -- add-operator <name> | remove-operator <name>
//   npm run admin -- sandbox list | add <label> <url> [--token-stdin] [--draining] | drain <label>
//                            | activate <label> | remove <label>
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import { text } from "node:stream/consumers";
import { parseArgs } from "node:util";
import { auditLine } from "./audit.ts";
import { AuthStore, UserExistsError } from "./auth/auth-store.ts";
import { loginUrl } from "./auth/bootstrap-owner.ts";
import { loadSecretKey, SecretBox } from "./auth/secret-box.ts";
import { isValidUserName, userNameRule } from "./auth/user-name.ts";
import { parseEnv } from "./env.ts";
import { createLogger, type Logger } from "./logger.ts";
import { openDatabase } from "./services.ts";
import { dataDirHolder } from "./store/data-dir-lock.ts";
import { hostLabelPattern, hostLabelRule, isHostUrl, SandboxHosts } from "./store/sandbox-hosts.ts";

const usage = `Usage: npm run admin -- <command>
  add-user <name> [--password-stdin]   make a user (prints a one-time login link without a password)
  set-password <name>                  set a password, read from standard input
  login-link <name>                    print a one-time login link (valid 24 hours)
  add-token <name> [--label <label>]   make an API token; it is printed this once only
  revoke-tokens <name>                 revoke every API token of the user
  add-member <project id> <user name>  let a user see a project
  remove-member <project id> <user name>
  users                                list users (operators marked)
  add-operator <name>                  let a user manage the sandbox hosts (the operator API)
  remove-operator <name>
  sandbox list                         the sandbox hosts: label, state, URL
  sandbox add <label> <url> [--token-stdin] [--draining]
                                       add a host; its SANDBOX_TOKEN is read from standard input
  sandbox drain <label>                no new builds or sessions go there
  sandbox activate <label>             new builds and sessions may go there again
  sandbox remove <label>               forget a drained host (refused while a build runs there)`;

class UsageError extends Error {}

const minPasswordLength = 8;

/** A password or a token, piped in: never an argument, which other users see in the process list. */
async function readSecret(what: string, minLength: number): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(`Pipe the ${what} in, e.g. \`read -s s && echo "$s" | npm run admin -- ...\``);
  const secret = (await text(process.stdin)).replace(/\r?\n$/, "");
  if (secret.length < minLength) throw new UsageError(`A ${what} needs at least ${minLength} characters.`);
  return secret;
}

const readPassword = () => readSecret("password", minPasswordLength);

/** A sandbox host's token is 32 characters or more, as the host itself requires of SANDBOX_TOKEN. */
const minTokenLength = 32;

/** The flags each command takes; anything else is refused, not ignored. */
const commandFlags: Record<string, Record<string, { type: "string" | "boolean" }>> = {
  "add-user": { "password-stdin": { type: "boolean" } },
  "add-token": { label: { type: "string" } },
  sandbox: { "token-stdin": { type: "boolean" }, draining: { type: "boolean" } },
};

/** The command, its positional arguments and its flags, parsed strictly (unknown flags, `--label=` empty: refused). */
function parseCommand(args: string[]) {
  const [command, ...rest] = args;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: command ? (commandFlags[command] ?? {}) : {},
      allowPositionals: true,
      strict: true,
    });
    if (values.label === "") throw new UsageError("--label needs a value.");
    return {
      command,
      rest: positionals,
      passwordFromStdin: values["password-stdin"] === true,
      tokenFromStdin: values["token-stdin"] === true,
      draining: values.draining === true,
      label: typeof values.label === "string" ? values.label : null,
    };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
}

async function main(args: string[]): Promise<void> {
  if (!args[0] || args[0] === "help" || args[0] === "--help") {
    console.log(usage);
    return;
  }
  const { command, rest, passwordFromStdin, tokenFromStdin, draining, label } = parseCommand(args);

  const env = parseEnv();
  if (!env.databaseUrl) {
    const holder = dataDirHolder(env.dataDir);
    if (holder !== null) {
      throw new UsageError(
        `The BFF (pid ${holder}) has the data directory ${env.dataDir} open; stop it first (its embedded database is one process's alone), or use a PostgreSQL server through DATABASE_URL.`,
      );
    }
  }
  const sql = await openDatabase(env);
  // Audit lines go to stderr: stdout is for the person at the terminal (and a token shown once).
  const logger = createLogger(env.logLevel, 2);
  const by = { actor: `admin command (${userInfo().username})` };
  try {
    const auth = new AuthStore(sql);
    const user = async (name: string | undefined) => {
      if (!name) throw new UsageError(usage);
      const found = await auth.userByName(name);
      if (!found) throw new UsageError(`No user named ${name}.`);
      return found;
    };
    switch (command) {
      case "add-user": {
        const name = rest[0];
        if (!isValidUserName(name)) throw new UsageError(`A user name is ${userNameRule}.`);
        const made = await auth.createUser(name, passwordFromStdin ? await readPassword() : null);
        console.log(`Made user ${made.name}.`);
        if (!passwordFromStdin)
          console.log(`Log in once with: ${loginUrl(env.publicUrl, await auth.createLoginLink(made.id))}`);
        break;
      }
      case "set-password": {
        const found = await user(rest[0]);
        await auth.setPassword(found.id, await readPassword());
        console.log(`Set the password of ${found.name}.`);
        break;
      }
      case "login-link": {
        const found = await user(rest[0]);
        console.log(loginUrl(env.publicUrl, await auth.createLoginLink(found.id)));
        break;
      }
      case "add-token": {
        const found = await user(rest[0]);
        const token = await auth.createApiToken(found.id, label ?? "command line");
        auditLine(logger, "api_token_created", { ...by, user: found.name, label: label ?? "command line" });
        console.log(`API token for ${found.name} (shown this once; send it as "Authorization: Bearer <token>"):`);
        console.log(token);
        break;
      }
      case "revoke-tokens": {
        const found = await user(rest[0]);
        const revoked = await auth.revokeApiTokens(found.id);
        auditLine(logger, "api_tokens_revoked", { ...by, user: found.name, revoked });
        console.log(`Revoked ${revoked} API token(s) of ${found.name}.`);
        break;
      }
      case "add-member":
      case "remove-member": {
        const [projectId, userName] = rest;
        if (!projectId || !userName) throw new UsageError(usage);
        if (command === "add-member") {
          const outcome = await auth.addMember(projectId, userName);
          if (outcome === "no_such_user")
            throw new UsageError(`No user named ${userName}, or no project ${projectId}.`);
          if (outcome === "is_owner") throw new UsageError(`${userName} owns ${projectId}.`);
          auditLine(logger, "member_added", { ...by, project_id: projectId, member: userName });
          console.log(`${userName} can now see ${projectId}.`);
        } else {
          if (!(await auth.removeMember(projectId, userName)))
            throw new UsageError(`${userName} is not a member of ${projectId}.`);
          auditLine(logger, "member_removed", { ...by, project_id: projectId, member: userName });
          console.log(`${userName} can no longer see ${projectId}.`);
        }
        break;
      }
      case "users":
        for (const found of await auth.listUsers()) {
          console.log((await auth.isOperator(found.id)) ? `${found.name} (operator)` : found.name);
        }
        break;
      case "add-operator":
      case "remove-operator": {
        const found = await user(rest[0]);
        const operator = command === "add-operator";
        await auth.setOperator(found.id, operator);
        auditLine(logger, operator ? "operator_added" : "operator_removed", { ...by, user: found.name });
        console.log(operator ? `${found.name} now manages the sandbox hosts.` : `${found.name} is no operator now.`);
        break;
      }
      case "sandbox": {
        // Tokens are sealed with the BFF's key: a key made here, away from the BFF, would seal
        // tokens no BFF can open.
        if (env.databaseUrl && !env.webhookSecretKey && !existsSync(path.join(env.dataDir, "webhook-secret.key"))) {
          throw new UsageError(
            "Set WEBHOOK_SECRET_KEY to the BFF's (or run this where the BFF's DATA_DIR is): host tokens are sealed with it.",
          );
        }
        const key = await loadSecretKey({ keyBase64: env.webhookSecretKey, dataDir: env.dataDir });
        await sandboxCommand(new SandboxHosts(sql, new SecretBox(key)), rest, { tokenFromStdin, draining, logger, by });
        break;
      }
      default:
        throw new UsageError(`Unknown command ${command}.\n${usage}`);
    }
  } finally {
    await sql.close();
  }
}

async function sandboxCommand(
  hosts: SandboxHosts,
  [verb, hostLabel, url, ...extra]: string[],
  options: { tokenFromStdin: boolean; draining: boolean; logger: Logger; by: { actor: string } },
): Promise<void> {
  const { logger, by } = options;
  if (verb === "list" && hostLabel === undefined) {
    for (const host of await hosts.list()) {
      const from = host.from_environment ? " (SANDBOX_URL)" : "";
      console.log(`${host.label}\t${host.state}\t${host.url}${from}`);
    }
    return;
  }
  if (!hostLabel || !hostLabelPattern.test(hostLabel))
    throw new UsageError(`A host's label is ${hostLabelRule}.\n${usage}`);
  if (verb === "add") {
    if (!url || extra.length > 0) throw new UsageError(usage);
    if (!isHostUrl(url)) {
      throw new UsageError(`${url} is not an http or https URL (without user, password, query or fragment).`);
    }
    const token = options.tokenFromStdin ? await readSecret("token", minTokenLength) : null;
    const added = await hosts.add({ label: hostLabel, url, token, state: options.draining ? "draining" : "active" });
    if (added === "label_taken") throw new UsageError(`A host is labelled ${hostLabel} already.`);
    if (added === "url_taken") throw new UsageError(`A host has the URL ${url} already.`);
    if (added === "bad_url") throw new UsageError(`${url} is not an http or https URL.`);
    auditLine(logger, "sandbox_host_added", { ...by, label: added.label, url: added.url, state: added.state });
    console.log(`Added ${added.label} (${added.state}${token ? ", with its token" : ", without a token"}).`);
    return;
  }
  if (url !== undefined) throw new UsageError(usage);
  if (verb === "drain" || verb === "activate") {
    const state = verb === "drain" ? "draining" : "active";
    if (!(await hosts.setState(hostLabel, state))) throw new UsageError(`No host labelled ${hostLabel}.`);
    auditLine(logger, "sandbox_host_changed", { ...by, label: hostLabel, state });
    console.log(`${hostLabel} is ${state} now.`);
    return;
  }
  if (verb === "remove") {
    const outcome = await hosts.remove(hostLabel);
    if (outcome === "not_found") throw new UsageError(`No host labelled ${hostLabel}.`);
    if (outcome === "busy") throw new UsageError(`A build runs on ${hostLabel}; drain it and let the build end first.`);
    if (outcome === "from_environment") {
      throw new UsageError(`${hostLabel} is SANDBOX_URL's host; empty SANDBOX_URL and restart the BFF to remove it.`);
    }
    auditLine(logger, "sandbox_host_removed", { ...by, label: hostLabel });
    console.log(`Removed ${hostLabel}.`);
    return;
  }
  throw new UsageError(usage);
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || err instanceof UserExistsError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
