/**
 * Runs a parsed workflow. Control flow is explicit: every step list returns an
 * outcome (normal, return, jump, break, continue, end) and errors are
 * WorkflowRuntimeError exceptions that `try`/`retry`/`except` handle. Every
 * loop is bounded by the step limit and every recursion by the call depth.
 */
import { coerceError } from '@slideshow/runtime';
import { connectorCall, httpCall, sleep, sysCall } from './calls.ts';
import type { RunContext } from './context.ts';
import { atStep, cancelledError, taggedError, WorkflowRuntimeError } from './errors.ts';
import { type EvalScope, evaluate } from './evaluate.ts';
import type { WorkflowProgram } from './parse.ts';
import type { AssignItem, RetrySpec, Step, StepBody, Subworkflow, Template } from './program.ts';
import { builtinPredicate, DEFAULT_BACKOFF } from './retry.ts';
import { Frame, isNum, rangeValues, setPath } from './scope.ts';
import { fromJs, toJs, typeName, type WfMap, type WfValue } from './values.ts';

/** Google's limits: https://cloud.google.com/workflows/quotas (steps per execution, call stack depth). */
export const DEFAULT_MAX_STEPS = 100_000;
/** Maximum subworkflow call depth. */
export const DEFAULT_MAX_CALL_DEPTH = 20;
/** Steps between yields to the event loop, so a long execution never starves the server. */
const YIELD_EVERY = 500;

type Outcome =
  | { t: 'normal' }
  | { t: 'return'; v: WfValue }
  | { t: 'jump'; target: string }
  | { t: 'break' }
  | { t: 'continue' }
  | { t: 'end' };

const NORMAL: Outcome = { t: 'normal' };

class Execution {
  private steps = 0;
  private depth = 0;
  private readonly maxSteps: number;
  private readonly maxDepth: number;
  private readonly program: WorkflowProgram;
  private readonly ctx: RunContext;

  constructor(program: WorkflowProgram, ctx: RunContext) {
    this.program = program;
    this.ctx = ctx;
    this.maxSteps = ctx.limits?.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxDepth = ctx.limits?.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
  }

  private scope(frame: Frame): EvalScope {
    return { lookup: (name) => frame.lookup(name), env: this.ctx.env, now: () => Date.now() };
  }

  private value(t: Template, frame: Frame): WfValue {
    switch (t.k) {
      case 'lit':
        return t.v;
      case 'expr':
        return evaluate(t.e, this.scope(frame));
      case 'list':
        return t.items.map((i) => this.value(i, frame));
      case 'map': {
        const out: WfMap = new Map();
        for (const { key, value } of t.entries) {
          const k = typeof key === 'string' ? key : evaluate(key, this.scope(frame));
          if (typeof k !== 'string')
            throw taggedError('TypeError', `map key must be a string, got ${typeName(k)}`);
          out.set(k, this.value(value, frame));
        }
        return out;
      }
    }
  }

  async callSubworkflow(sub: Subworkflow, args: WfMap, line: number): Promise<WfValue> {
    for (const name of args.keys()) {
      if (!sub.params.some((p) => p.name === name)) {
        throw taggedError('TypeError', `${sub.name} has no parameter ${name} (line ${line})`);
      }
    }
    if (this.depth >= this.maxDepth) {
      throw taggedError(
        'RecursionError',
        `maximum call depth ${this.maxDepth} exceeded calling ${sub.name}`,
      );
    }
    const frame = new Frame(sub.name);
    for (const p of sub.params) {
      if (args.has(p.name)) frame.set(p.name, args.get(p.name) ?? null);
      else if (p.default !== undefined) frame.set(p.name, this.value(p.default, frame));
      else throw taggedError('TypeError', `${sub.name}: missing argument ${p.name} (line ${line})`);
    }
    this.depth++;
    try {
      const outcome = await this.runSteps(sub.steps, frame);
      if (outcome.t === 'return') return outcome.v;
      if (outcome.t === 'jump')
        throw taggedError('SystemError', `cannot jump to step ${outcome.target} from here`);
      return null;
    } finally {
      this.depth--;
    }
  }

  private async runSteps(steps: readonly Step[], frame: Frame): Promise<Outcome> {
    let i = 0;
    while (i < steps.length) {
      const step = steps[i] as Step;
      let outcome: Outcome;
      try {
        outcome = await this.runBody(step.body, frame);
      } catch (error) {
        // Host failures that are not Workflows errors (a bug, an abort) are normalised, not caught.
        const normalised = error instanceof WorkflowRuntimeError ? error : coerceError(error);
        throw atStep(normalised, `${frame.subworkflow}.${step.name} (line ${step.line})`);
      }
      if (outcome.t === 'normal') {
        i++;
        continue;
      }
      if (outcome.t === 'jump') {
        const target = steps.findIndex((s) => s.name === outcome.target);
        if (target >= 0) {
          i = target;
          continue;
        }
      }
      return outcome;
    }
    return NORMAL;
  }

  private async tick(line: number): Promise<void> {
    this.steps++;
    if (this.ctx.signal?.aborted) throw cancelledError();
    if (this.steps > this.maxSteps) {
      throw new WorkflowRuntimeError(
        {
          message: `step limit of ${this.maxSteps} exceeded (line ${line})`,
          tags: ['ResourceLimitError'],
        },
        { fatal: true },
      );
    }
    if (this.steps % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  private async runBody(body: StepBody, frame: Frame): Promise<Outcome> {
    await this.tick(body.line);
    if (body.assign !== undefined) this.assign(body.assign, frame);
    let outcome: Outcome = NORMAL;
    if (body.call !== undefined) {
      const result = await this.call(body.call.fn, body.call.args, frame, body.line);
      if (body.call.result !== undefined) frame.set(body.call.result, result);
    } else if (body.switch !== undefined) {
      for (const cond of body.switch) {
        const v = this.value(cond.condition, frame);
        if (typeof v !== 'boolean') {
          throw taggedError(
            'TypeError',
            `switch condition must be a boolean, got ${typeName(v)} (line ${cond.line})`,
          );
        }
        if (v) {
          outcome = await this.runBody(cond.body, frame);
          break;
        }
      }
    } else if (body.for !== undefined) {
      outcome = await this.runFor(body.for, frame);
    } else if (body.steps !== undefined) {
      outcome = await this.runSteps(body.steps, frame);
    } else if (body.try !== undefined) {
      outcome = await this.runTry(body.try, frame);
    }
    if (outcome.t !== 'normal') return outcome;
    if (body.raise !== undefined) {
      throw new WorkflowRuntimeError(toJs(this.value(body.raise, frame)));
    }
    if (body.return !== undefined) return { t: 'return', v: this.value(body.return, frame) };
    if (body.next === 'end') return { t: 'end' };
    if (body.next === 'break') return { t: 'break' };
    if (body.next === 'continue') return { t: 'continue' };
    if (body.next !== undefined) return { t: 'jump', target: body.next };
    return NORMAL;
  }

  private assign(items: readonly AssignItem[], frame: Frame): void {
    for (const item of items) {
      const value = this.value(item.value, frame);
      if (item.path.length === 0) {
        frame.set(item.name, value);
        continue;
      }
      const scope = this.scope(frame);
      const keys = item.path.map((seg) => (seg.k === 'key' ? seg.name : evaluate(seg.e, scope)));
      frame.set(item.name, setPath(frame.lookup(item.name), keys, value));
    }
  }

  private async call(
    fn: string,
    argsT: Template | undefined,
    frame: Frame,
    line: number,
  ): Promise<WfValue> {
    const args = argsT === undefined ? null : this.value(argsT, frame);
    const sub = this.program.subworkflows.get(fn);
    if (sub !== undefined) {
      if (args !== null && !(args instanceof Map))
        throw taggedError('TypeError', `args of ${fn} must be a map`);
      return this.callSubworkflow(sub, args ?? new Map(), line);
    }
    if (fn.startsWith('http.')) return httpCall(fn, args, this.ctx);
    if (fn.startsWith('sys.')) return sysCall(fn, args, this.ctx);
    return connectorCall(fn, args, this.ctx);
  }

  private async runFor(spec: NonNullable<StepBody['for']>, frame: Frame): Promise<Outcome> {
    let items: Iterable<WfValue>;
    if (spec.in !== undefined) {
      const list = this.value(spec.in, frame);
      if (!Array.isArray(list))
        throw taggedError('TypeError', `for in needs a list, got ${typeName(list)}`);
      items = [...list];
    } else {
      const range = this.value(spec.range as Template, frame);
      const [start, end] = Array.isArray(range) ? range : [];
      if (
        range === null ||
        !Array.isArray(range) ||
        range.length !== 2 ||
        !isNum(start) ||
        !isNum(end)
      ) {
        throw taggedError('TypeError', 'for range needs a list of two numbers [start, end]');
      }
      items = rangeValues(start, end);
    }
    // Variables created in the loop body are local to the loop (Google: "Variables in for loops").
    const loopScope = new Map<string, WfValue>();
    frame.scopes.push(loopScope);
    try {
      let index = 0n;
      for (const item of items) {
        loopScope.set(spec.value, item);
        if (spec.index !== undefined) loopScope.set(spec.index, index);
        index++;
        const outcome = await this.runSteps(spec.steps, frame);
        if (outcome.t === 'break') break;
        if (outcome.t === 'normal' || outcome.t === 'continue') continue;
        return outcome;
      }
      return NORMAL;
    } finally {
      frame.scopes.pop();
    }
  }

  private async runTry(spec: NonNullable<StepBody['try']>, frame: Frame): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.runBody(spec.body, frame);
      } catch (error) {
        if (!(error instanceof WorkflowRuntimeError)) throw coerceError(error);
        if (error.fatal) throw error;
        const raised = fromJs(error.raised);
        if (spec.retry !== undefined) {
          const policy = this.retryPolicy(spec.retry, frame);
          if (attempt < policy.maxRetries && (await this.shouldRetry(spec.retry, raised))) {
            const delay = Math.min(
              policy.initialDelay * policy.multiplier ** attempt,
              policy.maxDelay,
            );
            await sleep(this.ctx, delay * 1000);
            continue;
          }
        }
        if (spec.except === undefined) throw error;
        if (spec.except.as !== undefined) frame.set(spec.except.as, raised);
        return this.runSteps(spec.except.steps, frame);
      }
    }
  }

  private retryPolicy(spec: RetrySpec, frame: Frame) {
    const num = (t: Template | undefined, fallback: number) => {
      if (t === undefined) return fallback;
      const v = this.value(t, frame);
      if (!isNum(v))
        throw taggedError('TypeError', `retry settings must be numbers (line ${spec.line})`);
      return Number(v);
    };
    return {
      maxRetries: num(spec.maxRetries, DEFAULT_BACKOFF.maxRetries),
      initialDelay: num(spec.initialDelay, DEFAULT_BACKOFF.initialDelay),
      maxDelay: num(spec.maxDelay, DEFAULT_BACKOFF.maxDelay),
      multiplier: num(spec.multiplier, DEFAULT_BACKOFF.multiplier),
    };
  }

  private async shouldRetry(spec: RetrySpec, raised: WfValue): Promise<boolean> {
    const predicate =
      spec.predicate ??
      (spec.policy === 'http.default_retry_non_idempotent'
        ? 'http.default_retry_predicate_non_idempotent'
        : 'http.default_retry_predicate');
    const sub = this.program.subworkflows.get(predicate);
    if (sub === undefined) return builtinPredicate(predicate, raised);
    const first = sub.params[0];
    if (first === undefined)
      throw taggedError('TypeError', `retry predicate ${sub.name} needs one parameter`);
    const verdict = await this.callSubworkflow(sub, new Map([[first.name, raised]]), spec.line);
    if (typeof verdict !== 'boolean') {
      throw taggedError(
        'TypeError',
        `retry predicate ${sub.name} must return a boolean, got ${typeName(verdict)}`,
      );
    }
    return verdict;
  }
}

/** Runs `main` with the argument and resolves with its result as plain JSON. */
export async function executeWorkflow(
  program: WorkflowProgram,
  argument: unknown,
  ctx: RunContext,
): Promise<unknown> {
  const main = program.subworkflows.get('main');
  if (main === undefined) throw taggedError('SystemError', 'the definition has no main workflow');
  const execution = new Execution(program, ctx);
  const first = main.params[0];
  const args: WfMap = first === undefined ? new Map() : new Map([[first.name, fromJs(argument)]]);
  const result = await execution.callSubworkflow(main, args, main.line);
  if (result instanceof Uint8Array)
    throw taggedError('TypeError', 'a workflow cannot return bytes');
  return toJs(result);
}
