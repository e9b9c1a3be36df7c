/** Types for node-version.js (plain JavaScript, so that any Node can parse it). */
export declare const MIN_NODE_MAJOR: number;
export declare function nodeVersionProblem(version: string): string | undefined;
