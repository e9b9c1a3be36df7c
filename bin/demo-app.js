#!/usr/bin/env node
// The demo app's entry point: what the image built by `dagger call demo-app` runs (and what the kind rehearsal's pods
// run). Settings come from the environment (APP_VERSION, DEMO_APP_FAILURE, PORT…; see .dagger/src/rehearsal/demo-app.ts).
// Plain JavaScript: the app itself is TypeScript run by Node's type stripping, like the CLI.
import { demoAppSettings, startDemoApp } from "../.dagger/src/rehearsal/demo-app.ts";

let settings;
try {
  settings = demoAppSettings(process.env);
} catch (err) {
  process.stderr.write(`demo-app: ${err instanceof Error ? err.message : String(err)}; not started\n`);
  process.exit(2);
}
const app = await startDemoApp(settings, { host: process.env.HOST || "0.0.0.0", log: (line) => process.stdout.write(`${line}\n`) });
// Kubernetes stops a pod with SIGTERM: close the server and exit 0 so a scale-down is not recorded as a crash.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
