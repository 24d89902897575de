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
import { userInfo } from "node:os";
import { text } from "node:stream/consumers";
import { parseArgs } from "node:util";
import { auditLine } from "./audit.ts";
import { AuthStore, UserExistsError } from "./auth/auth-store.ts";
import { loginUrl } from "./auth/bootstrap-owner.ts";
import { isValidUserName, userNameRule } from "./auth/user-name.ts";
import { parseEnv } from "./env.ts";
import { createLogger } from "./logger.ts";
import { openDatabase } from "./services.ts";
import { dataDirHolder } from "./store/data-dir-lock.ts";

const usage = `Usage: npm run admin -- <command>
  add-user <name> [--password-stdin]   make a user (prints a one-time login link without a password)
  set-password <name>                  set a password, read from standard input
  login-link <name>                    print a one-time login link (valid 24 hours)
  add-token <name> [--label <label>]   make an API token; it is printed this once only
  revoke-tokens <name>                 revoke every API token of the user
  add-member <project id> <user name>  let a user see a project
  remove-member <project id> <user name>
  users                                list users`;

class UsageError extends Error {}

const minPasswordLength = 8;

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError('Pipe the password in, e.g. `read -s pw && echo "$pw" | npm run admin -- ...`');
  const password = (await text(process.stdin)).replace(/\r?\n$/, "");
  if (password.length < minPasswordLength)
    throw new UsageError(`A password needs at least ${minPasswordLength} characters.`);
  return password;
}

/** The flags each command takes; anything else is refused, not ignored. */
const commandFlags: Record<string, Record<string, { type: "string" | "boolean" }>> = {
  "add-user": { "password-stdin": { type: "boolean" } },
  "add-token": { label: { type: "string" } },
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
  const { command, rest, passwordFromStdin, label } = parseCommand(args);

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
        for (const found of await auth.listUsers()) console.log(found.name);
        break;
      default:
        throw new UsageError(`Unknown command ${command}.\n${usage}`);
    }
  } finally {
    await sql.close();
  }
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
