// The quick start must just work: with no users at all, the first start makes an owner account
// and prints a one-time login link for it. Every start also gives projects from before owners
// existed to the first user, so every project has someone who may change it.
import type { AuthStore } from "./auth-store.ts";

interface Bootstrap {
  /** The link to print, when this start made the owner. */
  loginLink: string | null;
  ownerName: string | null;
  adopted: number;
}

export async function bootstrapOwner(auth: AuthStore, ownerName: string, publicUrl: string): Promise<Bootstrap> {
  let users = await auth.listUsers();
  let loginLink: string | null = null;
  if (users.length === 0) {
    try {
      const owner = await auth.createUser(ownerName, null);
      loginLink = loginUrl(publicUrl, await auth.createLoginLink(owner.id));
    } catch {
      // Another BFF process starting at the same moment made it; use theirs.
    }
    users = await auth.listUsers();
  }
  const first = users[0];
  const adopted = first ? await auth.adoptOwnerless(first.id) : 0;
  return { loginLink, ownerName: loginLink ? ownerName : null, adopted };
}

/** The page that logs in with a link's token; the token is in the fragment, never sent to a server. */
export function loginUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/login#token=${token}`;
}
