import { createTheme } from "@mui/material/styles";

// Light and dark schemes; the page follows the system's preference.
export const theme = createTheme({
  // Text in these colours keeps WCAG AA contrast (4.5:1) on white and on a hovered button's tint:
  // MUI's default blue falls to 4.4:1 when hovered, its orange is 2.9:1.
  // Filled toasts put white text on these; each keeps 4.5:1 in both schemes.
  colorSchemes: {
    light: { palette: { primary: { main: "#1565c0" }, warning: { main: "#b45309" }, info: { main: "#01579b" } } },
    dark: {
      palette: {
        success: { main: "#66bb6a", dark: "#2e7d32" },
        info: { main: "#29b6f6", dark: "#01579b" },
        warning: { main: "#ffa726", dark: "#9a4a06" },
      },
    },
  },
  cssVariables: { colorSchemeSelector: "media" },
  shape: { borderRadius: 8 },
  typography: {
    fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    h1: { fontSize: "1.75rem", fontWeight: 600 },
    h2: { fontSize: "1.25rem", fontWeight: 600 },
  },
  components: {
    MuiButton: { defaultProps: { disableElevation: true }, styleOverrides: { root: { textTransform: "none" } } },
  },
});
