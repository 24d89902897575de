// Once for the sandbox's whole suite: projects' users made by its runs are removed at its end.
import { removeTestRunUsers } from "./support/run-users.ts";

export default function setup(): () => Promise<void> {
  return removeTestRunUsers;
}
