// Plain JavaScript on purpose: it must parse on any Node, including those too old to run the TypeScript sources.

/** The oldest Node major that runs the CLI: the sources are TypeScript run by Node 24's type stripping. */
export const MIN_NODE_MAJOR = 24;

/**
 * Why this Node cannot run release-gate and what to do, or undefined when it can. Older Nodes would otherwise fail
 * with ERR_UNKNOWN_FILE_EXTENSION on the first .ts import, which says nothing useful.
 * @param {string} version process.versions.node, e.g. "20.20.2"
 * @returns {string | undefined}
 */
export function nodeVersionProblem(version) {
  const major = Number.parseInt(String(version).split(".")[0], 10);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return (
    `release-gate needs Node.js ${MIN_NODE_MAJOR} or newer (it runs its TypeScript sources with Node's type stripping), ` +
    `but this is Node ${version}: in the repository run it as \`npx --no -- release-gate …\` (npm puts the pinned Node ${MIN_NODE_MAJOR} first), ` +
    `or install Node ${MIN_NODE_MAJOR} (e.g. \`nvm install ${MIN_NODE_MAJOR}\`); nothing was run`
  );
}
