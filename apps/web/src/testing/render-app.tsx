// Renders the whole app at a URL with its real providers: a fresh QueryClient (no retries) per
// test, the real theme, router and toasts, and the BFF played by MSW.
import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import { AppProvider, createQueryClient } from "../app/provider.tsx";
import { AppRouter } from "../app/router.tsx";

export function renderApp(path: string) {
  const location = memoryLocation({ path, record: true });
  const user = userEvent.setup();
  const result = render(
    <AppProvider queryClient={createQueryClient({ retry: false })}>
      <Router hook={location.hook}>
        <AppRouter />
      </Router>
    </AppProvider>,
  );
  return { ...result, user, location };
}
