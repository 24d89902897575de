// The one typed client of the BFF. Failed changes raise a toast here, once, so no component
// has to remember to.
import type { paths } from "@prewarm/api-types/bff";
import createClient, { type Middleware } from "openapi-fetch";
import { showToast } from "./toasts.tsx";

export const apiClient = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "http://localhost",
  // openapi-fetch keeps the fetch it is given; look it up per call so MSW sees every request.
  fetch: (request) => globalThis.fetch(request),
});

const unauthenticatedListeners = new Set<() => void>();

/** Calls `listener` whenever the BFF says the session is gone (401); returns how to stop. */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

const loginPath = "/api/v1/auth/login";

const toastFailedChanges: Middleware = {
  async onResponse({ request, response }) {
    // A session that ended (logged out elsewhere, expired) sends the person to the login page;
    // the login form shows its own errors.
    if (response.status === 401 && !request.url.endsWith(loginPath)) {
      for (const listener of unauthenticatedListeners) listener();
      return undefined;
    }
    if (response.ok || request.method === "GET" || request.url.endsWith(loginPath)) return undefined;
    const body = await response
      .clone()
      .json()
      .catch(() => null);
    showToast(body?.detail ?? `Request failed (${response.status})`, "error");
    return undefined;
  },
  onError({ request }) {
    if (request.method !== "GET")
      showToast("Could not reach the server. Check your connection and try again.", "error");
    return undefined;
  },
};

apiClient.use(toastFailedChanges);
