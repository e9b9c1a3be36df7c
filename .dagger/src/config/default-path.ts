/** Where release.yaml is looked for by default: its own module, so a command's --help reads it without loading zod or yaml. */
export const DEFAULT_CONFIG_PATH = "kubernetes/production/release.yaml";
