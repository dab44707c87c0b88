/**
 * Parses a Workflows definition (YAML or JSON) into a checked program.
 * Everything outside the supported subset fails here with
 * "unsupported: <construct> (line N)" rather than at run time.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { WorkflowSyntaxError } from './errors.ts';
import { type Expr, expressionText } from './expression.ts';
import {
  ACTIONS,
  CALL_TARGETS,
  CONDITION_KEYS,
  checkNextTargets,
  checkSubworkflowCalls,
  compileExpression,
  type PendingCall,
  RETRY_POLICIES,
  RETRY_PREDICATES,
  STEP_KEYS,
} from './parse-rules.ts';
import type {
  AssignItem,
  Condition,
  Param,
  RetrySpec,
  Step,
  StepBody,
  Subworkflow,
  Template,
} from './program.ts';
import type { WfValue } from './values.ts';

/** A parsed, statically checked definition. */
export interface WorkflowProgram {
  readonly subworkflows: ReadonlyMap<string, Subworkflow>;
}

type Entry = { key: string; keyNode: Node | null; value: Node | null };

class DefinitionParser {
  private readonly lines = new LineCounter();
  private subworkflowNames = new Set<string>();
  private stepNames = new Set<string>();
  private pendingNext: { target: string; line: number; inFor: boolean }[] = [];
  /** Subworkflow calls and predicates, checked against the callee's params once all are parsed. */
  private readonly pendingCalls: PendingCall[] = [];

  parse(source: string): WorkflowProgram {
    const doc = parseDocument(source, { lineCounter: this.lines, intAsBigInt: true });
    const first = doc.errors[0];
    if (first !== undefined) {
      throw new WorkflowSyntaxError(
        `invalid YAML: ${first.message.split('\n')[0]}`,
        this.line(first.pos[0]),
      );
    }
    const root = doc.contents;
    const subworkflows = new Map<string, Subworkflow>();
    if (isSeq(root)) {
      this.subworkflowNames = new Set(['main']);
      subworkflows.set('main', {
        name: 'main',
        line: this.nodeLine(root),
        params: [],
        steps: this.steps(root),
      });
      checkNextTargets(this.pendingNext, this.stepNames);
    } else if (isMap(root)) {
      const entries = this.entries(root);
      this.subworkflowNames = new Set(entries.map((e) => e.key));
      if (!this.subworkflowNames.has('main'))
        throw this.error('a definition needs a main workflow', root);
      for (const e of entries) subworkflows.set(e.key, this.subworkflow(e));
      checkSubworkflowCalls(this.pendingCalls, subworkflows);
    } else {
      throw this.error('a definition is a list of steps or a map of subworkflows', root);
    }
    return { subworkflows };
  }

  private line(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  private nodeLine(node: Node | null | undefined): number {
    return this.line(node?.range?.[0]) ?? 1;
  }

  private error(message: string, node: Node | null | undefined): WorkflowSyntaxError {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? undefined : this.lines.linePos(offset);
    return new WorkflowSyntaxError(message, pos?.line, pos?.col);
  }

  private entries(node: Node | null): Entry[] {
    if (!isMap(node)) throw this.error('expected a map', node);
    return node.items.map((pair) => {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) throw this.error('map keys must be plain strings', keyNode);
      return { key, keyNode, value: pair.value as Node | null };
    });
  }

  private str(node: Node | null, what: string): string {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    throw this.error(`${what} must be a string`, node);
  }

  private subworkflow(e: Entry): Subworkflow {
    this.stepNames = new Set();
    this.pendingNext = [];
    const params: Param[] = [];
    let steps: Step[] | undefined;
    for (const part of this.entries(e.value)) {
      if (part.key === 'params') {
        if (!isSeq(part.value)) throw this.error('params must be a list', part.value);
        for (const item of part.value.items as Node[]) {
          if (isMap(item)) {
            const [p] = this.entries(item);
            if (p === undefined) throw this.error('empty parameter', item);
            params.push({ name: p.key, default: this.template(p.value) });
          } else {
            params.push({ name: this.str(item, 'a parameter name') });
          }
        }
      } else if (part.key === 'steps') {
        steps = this.steps(part.value);
      } else {
        throw this.error(`unsupported: ${part.key} in subworkflow ${e.key}`, part.keyNode);
      }
    }
    if (steps === undefined) throw this.error(`subworkflow ${e.key} has no steps`, e.keyNode);
    checkNextTargets(this.pendingNext, this.stepNames);
    return { name: e.key, line: this.nodeLine(e.keyNode), params, steps };
  }

  private steps(node: Node | null, inFor = false): Step[] {
    if (!isSeq(node)) throw this.error('steps must be a list', node);
    return (node.items as Node[]).map((item) => {
      const [entry, extra] = this.entries(item);
      if (entry === undefined || extra !== undefined) {
        throw this.error('a step is a map with exactly one key, its name', item);
      }
      this.stepNames.add(entry.key);
      const line = this.nodeLine(entry.keyNode);
      return { name: entry.key, line, body: this.body(entry.value, inFor, line) };
    });
  }

  private body(node: Node | null, inFor: boolean, line: number): StepBody {
    const parts = new Map(this.entries(node).map((e) => [e.key, e]));
    for (const e of parts.values()) {
      if (!STEP_KEYS.has(e.key)) throw this.error(`unsupported: ${e.key}`, e.keyNode);
    }
    const actions = ACTIONS.filter((a) => parts.has(a));
    if (actions.length > 1) {
      throw this.error(`a step cannot combine ${actions.join(' and ')}`, node);
    }
    for (const [key, needs] of [
      ['args', 'call'],
      ['result', 'call'],
      ['retry', 'try'],
      ['except', 'try'],
    ] as const) {
      if (parts.has(key) && !parts.has(needs)) {
        throw this.error(`${key} needs ${needs}`, parts.get(key)?.keyNode);
      }
    }
    const body: { -readonly [K in keyof StepBody]: StepBody[K] } = { line };
    const get = (key: string) => parts.get(key)?.value ?? null;
    if (parts.has('assign')) body.assign = this.assign(get('assign'));
    if (parts.has('call')) {
      const fn = this.str(get('call'), 'call');
      if (
        !CALL_TARGETS.has(fn) &&
        !this.subworkflowNames.has(fn) &&
        !fn.startsWith('googleapis.')
      ) {
        throw this.error(`unsupported: call ${fn}`, get('call'));
      }
      if (this.subworkflowNames.has(fn)) {
        const args = parts.has('args') ? this.template(get('args')) : undefined;
        this.pendingCalls.push({ fn, args, line: this.nodeLine(get('call')), predicate: false });
      }
      body.call = {
        fn,
        ...(parts.has('args') ? { args: this.template(get('args')) } : {}),
        ...(parts.has('result') ? { result: this.str(get('result'), 'result') } : {}),
      };
    }
    if (parts.has('switch')) body.switch = this.switch(get('switch'), inFor);
    if (parts.has('for')) body.for = this.for(get('for'));
    if (parts.has('steps')) body.steps = this.steps(get('steps'), inFor);
    if (parts.has('try')) {
      const tryNode = get('try');
      const exceptNode = get('except');
      body.try = {
        body: this.body(tryNode, inFor, this.nodeLine(tryNode)),
        ...(parts.has('retry') ? { retry: this.retry(get('retry')) } : {}),
        ...(parts.has('except') ? { except: this.except(exceptNode, inFor) } : {}),
      };
    }
    if (parts.has('raise')) body.raise = this.template(get('raise'));
    if (parts.has('return')) body.return = this.template(get('return'));
    if (parts.has('next')) body.next = this.next(get('next'), inFor);
    return body;
  }

  private next(node: Node | null, inFor: boolean): string {
    const target = this.str(node, 'next');
    this.pendingNext.push({ target, line: this.nodeLine(node), inFor });
    return target;
  }

  private assign(node: Node | null): AssignItem[] {
    if (!isSeq(node)) throw this.error('assign must be a list', node);
    return (node.items as Node[]).map((item) => {
      const [e, extra] = this.entries(item);
      if (e === undefined || extra !== undefined) {
        throw this.error('each assign item is a map with one key', item);
      }
      const line = this.nodeLine(e.keyNode);
      const target = compileExpression(e.key, line);
      const path: AssignItem['path'][number][] = [];
      let cur: Expr = target;
      while (cur.k === 'member' || cur.k === 'index') {
        path.unshift(
          cur.k === 'member' ? { k: 'key', name: cur.name } : { k: 'index', e: cur.index },
        );
        cur = cur.obj;
      }
      if (cur.k !== 'var') throw new WorkflowSyntaxError(`cannot assign to ${e.key}`, line);
      return { name: cur.name, path, value: this.template(e.value), line };
    });
  }

  private switch(node: Node | null, inFor: boolean): Condition[] {
    if (!isSeq(node)) throw this.error('switch must be a list of conditions', node);
    return (node.items as Node[]).map((item) => {
      const parts = this.entries(item);
      for (const p of parts) {
        if (!CONDITION_KEYS.has(p.key))
          throw this.error(`unsupported: ${p.key} in switch`, p.keyNode);
      }
      const cond = parts.find((p) => p.key === 'condition');
      if (cond === undefined) throw this.error('a switch item needs a condition', item);
      const line = this.nodeLine(item);
      const rest = parts.filter((p) => p.key !== 'condition');
      const body: { -readonly [K in keyof StepBody]: StepBody[K] } = { line };
      for (const p of rest) {
        if (p.key === 'next') body.next = this.next(p.value, inFor);
        else if (p.key === 'steps') body.steps = this.steps(p.value, inFor);
        else if (p.key === 'return') body.return = this.template(p.value);
        else if (p.key === 'raise') body.raise = this.template(p.value);
        else if (p.key === 'assign') body.assign = this.assign(p.value);
      }
      return { line, condition: this.template(cond.value), body };
    });
  }

  private for(node: Node | null): NonNullable<StepBody['for']> {
    const parts = new Map(this.entries(node).map((e) => [e.key, e]));
    for (const p of parts.values()) {
      if (!['value', 'index', 'in', 'range', 'steps'].includes(p.key)) {
        throw this.error(`unsupported: ${p.key} in for`, p.keyNode);
      }
    }
    const value = parts.get('value');
    const steps = parts.get('steps');
    if (value === undefined || steps === undefined)
      throw this.error('for needs value and steps', node);
    if (parts.has('in') === parts.has('range'))
      throw this.error('for needs exactly one of in and range', node);
    const index = parts.get('index');
    const inNode = parts.get('in');
    const rangeNode = parts.get('range');
    return {
      value: this.str(value.value, 'for value'),
      ...(index === undefined ? {} : { index: this.str(index.value, 'for index') }),
      ...(inNode === undefined ? {} : { in: this.template(inNode.value) }),
      ...(rangeNode === undefined ? {} : { range: this.template(rangeNode.value) }),
      steps: this.steps(steps.value, true),
    };
  }

  private retry(node: Node | null): RetrySpec {
    const line = this.nodeLine(node);
    if (isScalar(node)) {
      const name = this.refName(node);
      if (!RETRY_POLICIES.has(name)) throw this.error(`unsupported: retry policy ${name}`, node);
      return { line, policy: name };
    }
    const spec: { -readonly [K in keyof RetrySpec]: RetrySpec[K] } = { line };
    for (const p of this.entries(node)) {
      if (p.key === 'predicate') {
        const name = this.refName(p.value);
        if (!RETRY_PREDICATES.has(name) && !this.subworkflowNames.has(name)) {
          throw this.error(`unsupported: retry predicate ${name}`, p.value);
        }
        if (this.subworkflowNames.has(name)) {
          this.pendingCalls.push({
            fn: name,
            args: undefined,
            line: this.nodeLine(p.value),
            predicate: true,
          });
        }
        spec.predicate = name;
      } else if (p.key === 'max_retries') spec.maxRetries = this.template(p.value);
      else if (p.key === 'backoff') {
        for (const b of this.entries(p.value)) {
          if (b.key === 'initial_delay') spec.initialDelay = this.template(b.value);
          else if (b.key === 'max_delay') spec.maxDelay = this.template(b.value);
          else if (b.key === 'multiplier') spec.multiplier = this.template(b.value);
          else throw this.error(`unsupported: ${b.key} in backoff`, b.keyNode);
        }
      } else throw this.error(`unsupported: ${p.key} in retry`, p.keyNode);
    }
    return spec;
  }

  private refName(node: Node | null): string {
    const text = expressionText(this.str(node, 'an expression reference'));
    if (text === undefined) throw this.error('expected an expression reference', node);
    return text.trim();
  }

  private except(
    node: Node | null,
    inFor: boolean,
  ): NonNullable<NonNullable<StepBody['try']>['except']> {
    let as: string | undefined;
    let steps: Step[] | undefined;
    for (const p of this.entries(node)) {
      if (p.key === 'as') as = this.str(p.value, 'as');
      else if (p.key === 'steps') steps = this.steps(p.value, inFor);
      else throw this.error(`unsupported: ${p.key} in except`, p.keyNode);
    }
    if (steps === undefined) throw this.error('except needs steps', node);
    return as === undefined ? { steps } : { as, steps };
  }

  private template(node: Node | null): Template {
    const line = this.nodeLine(node);
    if (node === null || isScalar(node)) {
      const v = (node?.value ?? null) as WfValue;
      if (typeof v === 'string') {
        const text = expressionText(v);
        if (text !== undefined) return { k: 'expr', e: compileExpression(text, line), text };
      }
      return { k: 'lit', v };
    }
    if (isSeq(node))
      return { k: 'list', items: (node.items as Node[]).map((i) => this.template(i)) };
    if (isMap(node)) {
      return {
        k: 'map',
        entries: this.entries(node).map((e) => {
          const text = expressionText(e.key);
          return {
            key: text === undefined ? e.key : compileExpression(text, this.nodeLine(e.keyNode)),
            value: this.template(e.value),
          };
        }),
      };
    }
    throw this.error('unsupported YAML node (aliases and tags are not supported)', node);
  }
}

/** Parsed programs by source: they are immutable, and YAML parsing dominates a short execution. */
const cache = new Map<string, WorkflowProgram>();
const CACHE_SIZE = 32;

/** Parses and statically checks a Workflows YAML/JSON source; throws WorkflowSyntaxError. */
export function parseWorkflow(source: string): WorkflowProgram {
  const cached = cache.get(source);
  if (cached !== undefined) {
    // Refresh its place: the Map's insertion order is the eviction order.
    cache.delete(source);
    cache.set(source, cached);
    return cached;
  }
  const program = new DefinitionParser().parse(source);
  cache.set(source, program);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return program;
}
