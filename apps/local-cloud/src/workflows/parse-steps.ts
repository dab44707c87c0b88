/**
 * Parses the steps of one subworkflow: step bodies (assign, call, switch,
 * for, parallel, nested steps, try/retry/except, raise, return, next) with
 * Google's deploy-time rules for keys, names, `next` targets and `parallel`
 * (https://cloud.google.com/workflows/docs/reference/syntax/parallel-steps).
 */
import { isScalar, isSeq, type Node } from 'yaml';
import { CALL_TARGETS } from './builtin-calls.ts';
import { WorkflowSyntaxError } from './errors.ts';
import type { Expr } from './expression.ts';
import {
  ACTIONS,
  CONDITION_KEYS,
  checkNextTargets,
  checkStepName,
  checkVariableName,
  type NextContext,
  type PendingNext,
  RETRY_POLICIES,
  RETRY_PREDICATES,
  STEP_KEYS,
} from './parse-rules.ts';
import type { YamlReader } from './parse-yaml.ts';
import type {
  AssignItem,
  Branch,
  Condition,
  ForSpec,
  ParallelSpec,
  RetrySpec,
  Step,
  StepBody,
} from './program.ts';

/** Google's bounds on `branches` (the Workflows JSON schema: minItems 2, maxItems 10; quotas page). */
const MIN_BRANCHES = 2;
const MAX_BRANCHES = 10;
const NO_LOOP: NextContext = { loop: 'none' };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Parses the steps of one subworkflow and checks its `next` targets. */
export class StepsParser {
  private readonly r: YamlReader;
  /** Every step name of the subworkflow, with the parallel branch it belongs to. */
  private readonly stepBranches = new Map<string, number | undefined>();
  private readonly pendingNext: PendingNext[] = [];
  private branchIds = 0;

  constructor(reader: YamlReader) {
    this.r = reader;
  }

  /** The steps of a subworkflow (or of a bare list-of-steps definition). */
  parse(node: Node | null): Step[] {
    const steps = this.steps(node, NO_LOOP);
    checkNextTargets(this.pendingNext, this.stepBranches);
    return steps;
  }

  private steps(node: Node | null, ctx: NextContext): Step[] {
    if (!isSeq(node)) throw this.r.error('steps must be a list', node);
    return (node.items as Node[]).map((item) => {
      const [entry, extra] = this.r.entries(item);
      if (entry === undefined || extra !== undefined) {
        throw this.r.error('a step is a map with exactly one key, its name', item);
      }
      const line = this.r.nodeLine(entry.keyNode);
      checkStepName(entry.key, this.stepBranches, line);
      this.stepBranches.set(entry.key, ctx.branch);
      return {
        name: entry.key,
        line,
        position: this.r.position(entry.keyNode, entry.value),
        body: this.body(entry.value, ctx, line),
      };
    });
  }

  private body(node: Node | null, ctx: NextContext, line: number): StepBody {
    const parts = new Map(this.r.entries(node).map((e) => [e.key, e]));
    for (const e of parts.values()) {
      if (!STEP_KEYS.has(e.key)) throw this.r.error(`unsupported: ${e.key}`, e.keyNode);
    }
    const actions = ACTIONS.filter((a) => parts.has(a));
    if (actions.length > 1) {
      throw this.r.error(`a step cannot combine ${actions.join(' and ')}`, node);
    }
    for (const [key, needs] of [
      ['args', 'call'],
      ['result', 'call'],
      ['retry', 'try'],
      ['except', 'try'],
    ] as const) {
      if (parts.has(key) && !parts.has(needs)) {
        throw this.r.error(`${key} needs ${needs}`, parts.get(key)?.keyNode);
      }
    }
    const body: Mutable<StepBody> = { line };
    const get = (key: string) => parts.get(key)?.value ?? null;
    if (parts.has('assign')) body.assign = this.assign(get('assign'));
    if (parts.has('call'))
      body.call = this.call(
        get('call'),
        parts.has('args') ? get('args') : undefined,
        parts.has('result') ? get('result') : undefined,
      );
    if (parts.has('switch')) body.switch = this.switch(get('switch'), ctx);
    if (parts.has('for')) body.for = this.for(get('for'), { ...ctx, loop: 'for' });
    if (parts.has('parallel')) body.parallel = this.parallel(get('parallel'));
    if (parts.has('steps')) body.steps = this.steps(get('steps'), ctx);
    if (parts.has('try')) {
      const tryNode = get('try');
      body.try = {
        body: this.body(tryNode, ctx, this.r.nodeLine(tryNode)),
        ...(parts.has('retry') ? { retry: this.retry(get('retry')) } : {}),
        ...(parts.has('except') ? { except: this.except(get('except'), ctx) } : {}),
      };
    }
    if (parts.has('raise')) body.raise = this.r.template(get('raise'));
    if (parts.has('return')) body.return = this.return(get('return'), ctx);
    if (parts.has('next')) body.next = this.next(get('next'), ctx);
    return body;
  }

  private call(
    fnNode: Node | null,
    argsNode: Node | null | undefined,
    resultNode: Node | null | undefined,
  ) {
    const fn = this.r.str(fnNode, 'call');
    const subworkflow = this.r.subworkflowNames.has(fn);
    if (!CALL_TARGETS.has(fn) && !subworkflow && !fn.startsWith('googleapis.')) {
      throw this.r.error(
        fn.includes('.') ? `unsupported: call ${fn}` : `undefined subworkflow ${fn}`,
        fnNode,
      );
    }
    const args = argsNode === undefined ? undefined : this.r.template(argsNode);
    if (subworkflow) {
      this.r.pendingCalls.push({ fn, args, line: this.r.nodeLine(fnNode), predicate: false });
    }
    let result: string | undefined;
    if (resultNode !== undefined) {
      result = this.r.str(resultNode, 'result');
      checkVariableName(result, 'result variable', this.r.nodeLine(resultNode));
    }
    return {
      fn,
      ...(args === undefined ? {} : { args }),
      ...(result === undefined ? {} : { result }),
    };
  }

  private return(node: Node | null, ctx: NextContext) {
    if (ctx.branch !== undefined) {
      throw this.r.error(
        'unsupported: return inside a parallel branch or iteration (assign a shared variable instead)',
        node,
      );
    }
    return this.r.template(node);
  }

  private next(node: Node | null, ctx: NextContext): string {
    const target = this.r.str(node, 'next');
    this.pendingNext.push({ target, line: this.r.nodeLine(node), context: ctx });
    return target;
  }

  private assign(node: Node | null): AssignItem[] {
    if (!isSeq(node)) throw this.r.error('assign must be a list', node);
    return (node.items as Node[]).map((item) => {
      const [e, extra] = this.r.entries(item);
      if (e === undefined || extra !== undefined) {
        throw this.r.error('each assign item is a map with one key', item);
      }
      const line = this.r.nodeLine(e.keyNode);
      const target = this.r.expression(e.key, line);
      const path: AssignItem['path'][number][] = [];
      let cur: Expr = target;
      while (cur.k === 'member' || cur.k === 'index') {
        path.unshift(
          cur.k === 'member' ? { k: 'key', name: cur.name } : { k: 'index', e: cur.index },
        );
        cur = cur.obj;
      }
      if (cur.k !== 'var') throw new WorkflowSyntaxError(`cannot assign to ${e.key}`, line);
      checkVariableName(cur.name, 'variable', line);
      return { name: cur.name, path, value: this.r.template(e.value), line };
    });
  }

  private switch(node: Node | null, ctx: NextContext): Condition[] {
    if (!isSeq(node)) throw this.r.error('switch must be a list of conditions', node);
    return (node.items as Node[]).map((item) => {
      const parts = this.r.entries(item);
      for (const p of parts) {
        if (!CONDITION_KEYS.has(p.key))
          throw this.r.error(`unsupported: ${p.key} in switch`, p.keyNode);
      }
      const cond = parts.find((p) => p.key === 'condition');
      if (cond === undefined) throw this.r.error('a switch item needs a condition', item);
      const line = this.r.nodeLine(item);
      const body: Mutable<StepBody> = { line };
      for (const p of parts) {
        if (p.key === 'next') body.next = this.next(p.value, ctx);
        else if (p.key === 'steps') body.steps = this.steps(p.value, ctx);
        else if (p.key === 'return') body.return = this.return(p.value, ctx);
        else if (p.key === 'raise') body.raise = this.r.template(p.value);
        else if (p.key === 'assign') body.assign = this.assign(p.value);
      }
      return { line, condition: this.r.template(cond.value), body };
    });
  }

  private for(node: Node | null, bodyCtx: NextContext): ForSpec {
    const parts = new Map(this.r.entries(node).map((e) => [e.key, e]));
    for (const p of parts.values()) {
      if (!['value', 'index', 'in', 'range', 'steps'].includes(p.key)) {
        throw this.r.error(`unsupported: ${p.key} in for`, p.keyNode);
      }
    }
    const value = parts.get('value');
    const steps = parts.get('steps');
    if (value === undefined || steps === undefined)
      throw this.r.error('for needs value and steps', node);
    if (parts.has('in') === parts.has('range'))
      throw this.r.error('for needs exactly one of in and range', node);
    const index = parts.get('index');
    const inNode = parts.get('in');
    const rangeNode = parts.get('range');
    const valueName = this.r.str(value.value, 'for value');
    checkVariableName(valueName, 'loop variable', this.r.nodeLine(value.value));
    const indexName = index === undefined ? undefined : this.r.str(index.value, 'for index');
    if (indexName !== undefined)
      checkVariableName(indexName, 'index variable', this.r.nodeLine(index?.value));
    const body = this.steps(steps.value, bodyCtx);
    // Every iteration must take a step, so the step limit bounds a loop over any range.
    if (body.length === 0) throw this.r.error('for needs at least one step', steps.value);
    return {
      value: valueName,
      ...(indexName === undefined ? {} : { index: indexName }),
      ...(inNode === undefined ? {} : { in: this.r.template(inNode.value) }),
      ...(rangeNode === undefined ? {} : { range: this.r.template(rangeNode.value) }),
      steps: body,
    };
  }

  private parallel(node: Node | null): ParallelSpec {
    const line = this.r.nodeLine(node);
    const spec: Mutable<ParallelSpec> = { line, shared: [] };
    const parts = this.r.entries(node);
    const has = (key: string) => parts.some((p) => p.key === key);
    if (has('branches') === has('for')) {
      throw this.r.error('parallel needs exactly one of branches and for', node);
    }
    for (const p of parts) {
      if (p.key === 'exception_policy') {
        // "continueAll is the only policy currently supported" (parallel steps reference).
        if (this.r.str(p.value, 'exception_policy') !== 'continueAll') {
          throw this.r.error('exception_policy must be continueAll', p.value);
        }
      } else if (p.key === 'shared') spec.shared = this.shared(p.value);
      else if (p.key === 'concurrency_limit') spec.concurrencyLimit = this.limit(p.value);
      else if (p.key === 'branches') spec.branches = this.branches(p.value);
      else if (p.key === 'for') {
        spec.for = this.for(p.value, { loop: 'parallel-for', branch: ++this.branchIds });
      } else throw this.r.error(`unsupported: ${p.key} in parallel`, p.keyNode);
    }
    return spec;
  }

  private shared(node: Node | null): string[] {
    if (!isSeq(node)) throw this.r.error('shared must be a list of variable names', node);
    const names = (node.items as Node[]).map((item) => {
      const name = this.r.str(item, 'a shared variable');
      checkVariableName(name, 'shared variable', this.r.nodeLine(item));
      return name;
    });
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw this.r.error(`shared variable ${dup} is listed twice`, node);
    return names;
  }

  private limit(node: Node | null) {
    const t = this.r.template(node);
    if (t.k === 'expr') return t;
    // "Must be a positive integer and can be either a literal value or an expression."
    if (t.k !== 'lit' || typeof t.v !== 'bigint' || t.v < 1n) {
      throw this.r.error('concurrency_limit must be a positive integer', node);
    }
    return t;
  }

  private branches(node: Node | null): Branch[] {
    if (!isSeq(node)) throw this.r.error('branches must be a list', node);
    const items = node.items as Node[];
    if (items.length < MIN_BRANCHES || items.length > MAX_BRANCHES) {
      throw this.r.error(
        `a parallel step has ${MIN_BRANCHES} to ${MAX_BRANCHES} branches, not ${items.length}`,
        node,
      );
    }
    return items.map((item) => {
      const [entry, extra] = this.r.entries(item);
      if (entry === undefined || extra !== undefined) {
        throw this.r.error('a branch is a map with exactly one key, its name', item);
      }
      const line = this.r.nodeLine(entry.keyNode);
      checkStepName(entry.key, this.stepBranches, line);
      const ctx: NextContext = { loop: 'none', branch: ++this.branchIds };
      this.stepBranches.set(entry.key, ctx.branch);
      const parts = this.r.entries(entry.value);
      const steps = parts.find((p) => p.key === 'steps');
      const other = parts.find((p) => p.key !== 'steps');
      if (other !== undefined)
        throw this.r.error(`unsupported: ${other.key} in a branch`, other.keyNode);
      if (steps === undefined) throw this.r.error(`branch ${entry.key} needs steps`, entry.keyNode);
      return { name: entry.key, line, steps: this.steps(steps.value, ctx) };
    });
  }

  private retry(node: Node | null): RetrySpec {
    const line = this.r.nodeLine(node);
    if (isScalar(node)) {
      const name = this.r.refName(node);
      if (!RETRY_POLICIES.has(name)) throw this.r.error(`unsupported: retry policy ${name}`, node);
      return { line, policy: name };
    }
    const spec: Mutable<RetrySpec> = { line };
    for (const p of this.r.entries(node)) {
      if (p.key === 'predicate') {
        const name = this.r.refName(p.value);
        const subworkflow = this.r.subworkflowNames.has(name);
        if (!RETRY_PREDICATES.has(name) && !subworkflow) {
          throw this.r.error(`unsupported: retry predicate ${name}`, p.value);
        }
        if (subworkflow) {
          this.r.pendingCalls.push({ fn: name, line: this.r.nodeLine(p.value), predicate: true });
        }
        spec.predicate = name;
      } else if (p.key === 'max_retries') spec.maxRetries = this.r.template(p.value);
      else if (p.key === 'backoff') {
        for (const b of this.r.entries(p.value)) {
          if (b.key === 'initial_delay') spec.initialDelay = this.r.template(b.value);
          else if (b.key === 'max_delay') spec.maxDelay = this.r.template(b.value);
          else if (b.key === 'multiplier') spec.multiplier = this.r.template(b.value);
          else throw this.r.error(`unsupported: ${b.key} in backoff`, b.keyNode);
        }
      } else throw this.r.error(`unsupported: ${p.key} in retry`, p.keyNode);
    }
    return spec;
  }

  private except(node: Node | null, ctx: NextContext): NonNullable<StepBody['try']>['except'] {
    let as: string | undefined;
    let steps: Step[] | undefined;
    for (const p of this.r.entries(node)) {
      if (p.key === 'as') {
        as = this.r.str(p.value, 'as');
        checkVariableName(as, 'except variable', this.r.nodeLine(p.value));
      } else if (p.key === 'steps') steps = this.steps(p.value, ctx);
      else throw this.r.error(`unsupported: ${p.key} in except`, p.keyNode);
    }
    if (steps === undefined) throw this.r.error('except needs steps', node);
    return as === undefined ? { steps } : { as, steps };
  }
}
