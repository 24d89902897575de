// The start page sends a visitor to the settings of the first project.
import Alert from "@mui/material/Alert";
import CircularProgress from "@mui/material/CircularProgress";
import Container from "@mui/material/Container";
import { Redirect } from "wouter";
import { useProjects } from "../../api/project/list-projects.ts";

export function HomeRoute() {
  const projects = useProjects();
  if (projects.isPending) return <CircularProgress sx={{ m: 4 }} aria-label="Loading projects" />;
  if (projects.isError) {
    return (
      <Container sx={{ py: 4 }}>
        <Alert severity="error">Could not load projects: {projects.error.message}</Alert>
      </Container>
    );
  }
  const first = projects.data[0];
  if (!first) {
    return (
      <Container sx={{ py: 4 }}>
        <Alert severity="info">There are no projects yet.</Alert>
      </Container>
    );
  }
  return <Redirect to={`/projects/${encodeURIComponent(first.id)}/settings`} replace />;
}
