import { Route, Switch } from "wouter";
import { AuthGate } from "./auth-gate.tsx";
import { HomeRoute } from "./routes/home.tsx";
import { LoginRoute } from "./routes/login.tsx";
import { NotFoundRoute } from "./routes/not-found.tsx";
import { ProjectSettingsRoute } from "./routes/project-settings.tsx";
import { TopBar } from "./top-bar.tsx";

export function AppRouter() {
  return (
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
  );
}
