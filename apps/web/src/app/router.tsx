import { lazy, Suspense } from "react";
import { Route, Switch } from "wouter";
import { AuthGate } from "./auth-gate.tsx";
import { HomeRoute } from "./routes/home.tsx";
import { ProjectSettingsRoute } from "./routes/project-settings.tsx";
import { TopBar } from "./top-bar.tsx";

// The settings page is what the first load is for; the other pages load when visited.
const LoginRoute = lazy(() => import("./routes/login.tsx"));
const NotFoundRoute = lazy(() => import("./routes/not-found.tsx"));

export function AppRouter() {
  return (
    <Suspense fallback={null}>
      <Switch>
        <Route path="/login" component={LoginRoute} />
        <Route>
          <AuthGate>
            <TopBar />
            <Switch>
              <Route path="/" component={HomeRoute} />
              <Route path="/projects/:projectId/settings">
                {(params) => <ProjectSettingsRoute projectId={params.projectId} />}
              </Route>
              <Route component={NotFoundRoute} />
            </Switch>
          </AuthGate>
        </Route>
      </Switch>
    </Suspense>
  );
}
