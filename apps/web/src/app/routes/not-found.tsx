import Alert from "@mui/material/Alert";
import Container from "@mui/material/Container";
import Link from "@mui/material/Link";

export default function NotFoundRoute() {
  return (
    <Container sx={{ py: 4 }}>
      <Alert severity="warning">
        There is no page here. <Link href="/">Go to your projects</Link>.
      </Alert>
    </Container>
  );
}
