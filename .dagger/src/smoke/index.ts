/** The smoke suite runner: the `smoke` command and the pipeline (between canary phases, during observation) use this. */
export { runSmokeSuite, parseBaseUrl, assertTokenTransport, isLoopbackHost, DEFAULTS, type SmokeOptions } from "./runner.ts";
export { renderTable, toJSON } from "./report.ts";
export { loadSuite, parseSuite, Suite, Check, Expectation, JsonExpectation, TLS_CHECK_NAME, type SuiteInput } from "./suite.ts";
export { qualisysSuite, qualisysSuiteData } from "./default-suite.ts";
export type { SmokeReport, CheckResult } from "./types.ts";
