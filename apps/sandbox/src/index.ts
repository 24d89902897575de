// Starts the golden filesystem service (main.ts): `node --import tsx src/index.ts`.
import { startSandbox } from "./main.ts";

await startSandbox();
