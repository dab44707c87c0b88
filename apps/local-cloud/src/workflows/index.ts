/**
 * The Workflows-language engine of local-cloud: parse a definition once, run
 * executions against a host RunContext. See README.md for the subset and the
 * deviations from Google.
 */
export type {
  ConnectorHandler,
  ConnectorOptions,
  HttpCallRequest,
  HttpCallResponse,
  RunContext,
} from './context.ts';
export { describeError, WorkflowRuntimeError, WorkflowSyntaxError } from './errors.ts';
export { DEFAULT_MAX_CALL_DEPTH, DEFAULT_MAX_STEPS, executeWorkflow } from './execute.ts';
export { fetchHttp } from './fetch-http.ts';
export { parseWorkflow, type WorkflowProgram } from './parse.ts';
export { decodeJsonText } from './stdlib-args.ts';
