/**
 * Runs a parsed workflow. Control flow is explicit: every step list returns an
 * outcome (normal, return, jump, break, continue, end) and errors are
 * WorkflowRuntimeError exceptions that `try`/`retry`/`except` handle. Every
 * loop is bounded by the step limit, every recursion by the call depth, and
 * every value and the variables together by the memory limit (memory.ts);
 * parallel branches (parallel.ts) run concurrently on the event loop.
 */
import { coerceError } from '@slideshow/runtime';
import { connectorCall, httpCall, sysCall } from './calls.ts';
import type { RunContext } from './context.ts';
import { atStep, cancelledError, leftCall, taggedError, WorkflowRuntimeError } from './errors.ts';
import { evaluate } from './evaluate.ts';
import { type AsyncEvalScope, evaluateAsync, templateCallsSubworkflow } from './evaluate-async.ts';
import type { Expr } from './expression.ts';
import { DEFAULT_MAX_MEMORY_BYTES, VariableMemory, withinLimit } from './memory.ts';
import { loopItems, runParallel } from './parallel.ts';
import type { WorkflowProgram } from './parse.ts';
import type { AssignItem, ForSpec, Step, StepBody, Subworkflow, Template } from './program.ts';
import { runTry } from './run-try.ts';
import { Frame, setPath } from './scope.ts';
import { fromJs, toJs, typeName, type WfMap, type WfValue } from './values.ts';

/** Google's limits: https://cloud.google.com/workflows/quotas (steps per execution, call stack depth). */
export const DEFAULT_MAX_STEPS = 100_000;
/** Maximum subworkflow call depth. */
export const DEFAULT_MAX_CALL_DEPTH = 20;
/** Steps between yields to the event loop, so a long execution never starves the server. */
const YIELD_EVERY = 500;

/** How a list of steps ended. */
export type Outcome =
  | { t: 'normal' }
  | { t: 'return'; v: WfValue }
  | { t: 'jump'; target: string }
  | { t: 'break' }
  | { t: 'continue' }
  | { t: 'end' };

const NORMAL: Outcome = { t: 'normal' };

/** One running execution: the program, its host, and the counters shared by its branches. */
export class Execution {
  private steps = 0;
  private readonly maxSteps: number;
  private readonly maxDepth: number;
  /** The variables of every frame and branch, and the limit on them and on any one value. */
  private readonly memory: VariableMemory;
  readonly program: WorkflowProgram;
  /** The host context, its signal also aborted when a branch hits a fatal error. */
  readonly ctx: RunContext;
  private readonly outerSignal: AbortSignal | undefined;
  private readonly abort = new AbortController();
  private stopped: WorkflowRuntimeError | undefined;
  private readonly isSub = (name: string) => this.program.subworkflows.has(name);

  constructor(program: WorkflowProgram, ctx: RunContext) {
    this.program = program;
    this.outerSignal = ctx.signal;
    const signal =
      ctx.signal === undefined
        ? this.abort.signal
        : AbortSignal.any([ctx.signal, this.abort.signal]);
    this.ctx = { ...ctx, signal };
    this.maxSteps = ctx.limits?.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxDepth = ctx.limits?.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
    this.memory = new VariableMemory(ctx.limits?.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES);
  }

  /** Ends every branch: a fatal error (step limit, a host failure) in one ends the execution. */
  stop(error: unknown): void {
    if (this.stopped !== undefined) return;
    this.stopped =
      error instanceof WorkflowRuntimeError
        ? error
        : new WorkflowRuntimeError(
            { message: coerceError(error).message, tags: ['SystemError'] },
            { fatal: true },
          );
    this.abort.abort(this.stopped);
  }

  private scope(frame: Frame): AsyncEvalScope {
    return {
      lookup: (name) => frame.lookup(name),
      env: this.ctx.env,
      now: () => Date.now(),
      maxValueBytes: this.memory.limit,
      isSubworkflow: this.isSub,
      callSubworkflow: (name, args) => this.callFromExpression(name, args, frame),
    };
  }

  private expr(e: Expr, frame: Frame): Promise<WfValue> {
    return evaluateAsync(e, this.scope(frame));
  }

  /** A template's value, synchronously: only for templates without subworkflow calls. */
  private valueNow(t: Template, frame: Frame): WfValue {
    switch (t.k) {
      case 'lit':
        return t.v;
      case 'expr':
        return evaluate(t.e, this.scope(frame));
      case 'list':
        return this.fits(t.items.map((i) => this.valueNow(i, frame)));
      case 'map': {
        const out: WfMap = new Map();
        for (const { key, value } of t.entries) {
          out.set(
            this.key(typeof key === 'string' ? key : evaluate(key, this.scope(frame))),
            this.valueNow(value, frame),
          );
        }
        return this.fits(out);
      }
    }
  }

  /** A list or map a template built, or the memory error when it is larger than any variable may be. */
  private fits(value: WfValue): WfValue {
    return withinLimit(value, this.memory.limit, 'a list or map');
  }

  private key(k: WfValue): string {
    if (typeof k !== 'string')
      throw taggedError('TypeError', `map key must be a string, got ${typeName(k)}`);
    return k;
  }

  /** A template's value; waits only when one of its expressions calls a subworkflow. */
  async value(t: Template, frame: Frame): Promise<WfValue> {
    if (!templateCallsSubworkflow(t, this.isSub)) return this.valueNow(t, frame);
    switch (t.k) {
      case 'expr':
        return this.expr(t.e, frame);
      case 'list': {
        const out: WfValue[] = [];
        for (const item of t.items) out.push(await this.value(item, frame));
        return this.fits(out);
      }
      case 'map': {
        const out: WfMap = new Map();
        for (const { key, value } of t.entries) {
          const k = this.key(typeof key === 'string' ? key : await this.expr(key, frame));
          out.set(k, await this.value(value, frame));
        }
        return this.fits(out);
      }
      default:
        return this.valueNow(t, frame);
    }
  }

  private callFromExpression(name: string, args: WfValue[], caller: Frame): Promise<WfValue> {
    const sub = this.program.subworkflows.get(name) as Subworkflow;
    if (args.length > sub.params.length) {
      throw taggedError(
        'TypeError',
        `${name} takes ${sub.params.length} argument(s) but ${args.length} were given`,
      );
    }
    const named: WfMap = new Map(args.map((a, i) => [sub.params[i]?.name ?? '', a]));
    return this.callSubworkflow(sub, named, sub.line, caller);
  }

  async callSubworkflow(
    sub: Subworkflow,
    args: WfMap,
    line: number,
    caller?: Frame,
  ): Promise<WfValue> {
    for (const name of args.keys()) {
      if (!sub.params.some((p) => p.name === name)) {
        throw taggedError('TypeError', `${sub.name} has no parameter ${name} (line ${line})`);
      }
    }
    const depth = (caller?.depth ?? 0) + 1;
    if (depth > this.maxDepth) {
      throw taggedError(
        'RecursionError',
        `maximum call depth ${this.maxDepth} exceeded calling ${sub.name}`,
      );
    }
    const frame = new Frame(sub.name, this.memory, depth, caller?.parallelDepth ?? 0);
    try {
      for (const p of sub.params) {
        if (args.has(p.name)) frame.set(p.name, args.get(p.name) ?? null);
        else if (p.default !== undefined) frame.set(p.name, await this.value(p.default, frame));
        else
          throw taggedError('TypeError', `${sub.name}: missing argument ${p.name} (line ${line})`);
      }
      const outcome = await this.runSteps(sub.steps, frame);
      if (outcome.t === 'return') return outcome.v;
      if (outcome.t === 'jump')
        throw taggedError('SystemError', `cannot jump to step ${outcome.target} from here`);
      return null;
    } catch (error) {
      leftCall(error);
      throw error;
    } finally {
      frame.release();
    }
  }

  async runSteps(steps: readonly Step[], frame: Frame): Promise<Outcome> {
    let i = 0;
    while (i < steps.length) {
      const step = steps[i] as Step;
      let outcome: Outcome;
      try {
        this.ctx.onStep?.({ routine: frame.subworkflow, step: step.name });
        outcome = await this.runBody(step.body, frame);
      } catch (error) {
        // Host failures that are not Workflows errors (a bug, an abort) are normalised, not caught.
        const normalised = error instanceof WorkflowRuntimeError ? error : coerceError(error);
        throw atStep(normalised, {
          step: step.name,
          routine: frame.subworkflow,
          position: step.position,
        });
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
    if (this.stopped !== undefined) throw this.stopped;
    if (this.outerSignal?.aborted) throw cancelledError();
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

  async runBody(body: StepBody, frame: Frame): Promise<Outcome> {
    await this.tick(body.line);
    if (body.assign !== undefined) await this.assign(body.assign, frame);
    let outcome: Outcome = NORMAL;
    if (body.call !== undefined) {
      const result = await this.call(body.call.fn, body.call.args, frame, body.line);
      if (body.call.result !== undefined) frame.set(body.call.result, result);
    } else if (body.switch !== undefined) {
      for (const cond of body.switch) {
        const v = await this.value(cond.condition, frame);
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
    } else if (body.parallel !== undefined) {
      await runParallel(this, body.parallel, frame);
    } else if (body.steps !== undefined) {
      outcome = await this.runSteps(body.steps, frame);
    } else if (body.try !== undefined) {
      outcome = await runTry(this, body.try, frame);
    }
    if (outcome.t !== 'normal') return outcome;
    if (body.raise !== undefined) {
      throw new WorkflowRuntimeError(toJs(await this.value(body.raise, frame)));
    }
    if (body.return !== undefined) return { t: 'return', v: await this.value(body.return, frame) };
    if (body.next === 'end') return { t: 'end' };
    if (body.next === 'break') return { t: 'break' };
    if (body.next === 'continue') return { t: 'continue' };
    if (body.next !== undefined) return { t: 'jump', target: body.next };
    return NORMAL;
  }

  private async assign(items: readonly AssignItem[], frame: Frame): Promise<void> {
    for (const item of items) {
      const value = templateCallsSubworkflow(item.value, this.isSub)
        ? await this.value(item.value, frame)
        : this.valueNow(item.value, frame);
      if (item.path.length === 0) {
        frame.set(item.name, value);
        continue;
      }
      const keys: WfValue[] = [];
      for (const seg of item.path)
        keys.push(seg.k === 'key' ? seg.name : await this.expr(seg.e, frame));
      frame.set(item.name, setPath(frame.lookup(item.name), keys, value));
    }
  }

  private async call(
    fn: string,
    argsT: Template | undefined,
    frame: Frame,
    line: number,
  ): Promise<WfValue> {
    const args = argsT === undefined ? null : await this.value(argsT, frame);
    const sub = this.program.subworkflows.get(fn);
    if (sub !== undefined) {
      if (args !== null && !(args instanceof Map))
        throw taggedError('TypeError', `args of ${fn} must be a map`);
      return this.callSubworkflow(sub, args ?? new Map(), line, frame);
    }
    if (fn.startsWith('http.')) return httpCall(fn, args, this.ctx);
    if (fn.startsWith('sys.')) return sysCall(fn, args, this.ctx);
    return connectorCall(fn, args, this.ctx);
  }

  private async runFor(spec: ForSpec, frame: Frame): Promise<Outcome> {
    const items = await loopItems(this, spec, frame);
    // Variables created in the loop body are local to the loop (Google: "Variable scope").
    return frame.withScope(async () => {
      let index = 0n;
      for (const item of items) {
        frame.setLocal(spec.value, item);
        if (spec.index !== undefined) frame.setLocal(spec.index, index);
        index++;
        const outcome = await this.runSteps(spec.steps, frame);
        if (outcome.t === 'break') break;
        if (outcome.t === 'normal' || outcome.t === 'continue') continue;
        return outcome;
      }
      return NORMAL;
    });
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
