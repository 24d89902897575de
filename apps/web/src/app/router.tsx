import { Route, Switch } from "wouter";
import { HomeRoute } from "./routes/home.tsx";
import { NotFoundRoute } from "./routes/not-found.tsx";
import { ProjectSettingsRoute } from "./routes/project-settings.tsx";

export function AppRouter() {
  return (
    <Switch>
      <Route path="/" component={HomeRoute} />
      <Route path="/projects/:projectId/settings">
        {(params) => <ProjectSettingsRoute projectId={params.projectId} />}
      </Route>
      <Route component={NotFoundRoute} />
    </Switch>
  );
}
