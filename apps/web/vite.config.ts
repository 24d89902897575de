import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// In development the BFF runs on its own port; in production it serves this build itself.
export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: { "/api": { target: process.env.BFF_URL ?? "http://127.0.0.1:7070", changeOrigin: false } },
  },
  build: { outDir: "dist", sourcemap: true },
});
