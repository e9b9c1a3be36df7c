/**
 * `npm run schema`: writes kubernetes/production/release.schema.json from the zod schema of release.yaml
 * (.dagger/src/config/schema.ts). Run it after changing the schema and commit the result; test/config/json-schema.test.ts
 * fails while the two differ.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { RELEASE_SCHEMA_PATH, releaseJsonSchemaText } from "../.dagger/src/config/json-schema.ts";

const target = fileURLToPath(new URL(`../${RELEASE_SCHEMA_PATH}`, import.meta.url));
await writeFile(target, releaseJsonSchemaText());
process.stdout.write(`wrote ${RELEASE_SCHEMA_PATH}\n`);
