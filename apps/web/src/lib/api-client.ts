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

const toastFailedChanges: Middleware = {
  async onResponse({ request, response }) {
    if (response.ok || request.method === "GET") return undefined;
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
