// What a user name may be, as openapi/bff.yaml's `UserName` says: one rule for the API, the
// admin command and the configuration.
import { loadContract } from "@prewarm/api-types/contract";

export const userNameRule = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

export function isValidUserName(value: unknown): value is string {
  return loadContract("bff").validateSchema("UserName", value).ok;
}
