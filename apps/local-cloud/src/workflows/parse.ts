/**
 * Parses a Workflows definition (YAML or JSON) into a checked program, with
 * the checks Google makes at deploy time (names, `next` targets, call
 * arguments, variable scopes, `parallel` shared variables). Everything
 * outside the supported subset fails here with "unsupported: <construct>
 * (line N)" rather than at run time.
 */
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { WorkflowSyntaxError } from './errors.ts';
import { checkSubworkflowCalls, checkVariableName } from './parse-rules.ts';
import { StepsParser } from './parse-steps.ts';
import { type Entry, YamlReader } from './parse-yaml.ts';
import type { Param, Step, Subworkflow } from './program.ts';
import { checkScopes } from './scope-check.ts';

/** A parsed, statically checked definition. */
export interface WorkflowProgram {
  readonly subworkflows: ReadonlyMap<string, Subworkflow>;
}

function parseSubworkflow(r: YamlReader, e: Entry): Subworkflow {
  const params: Param[] = [];
  let steps: Step[] | undefined;
  for (const part of r.entries(e.value)) {
    if (part.key === 'params') {
      if (!isSeq(part.value)) throw r.error('params must be a list', part.value);
      for (const item of part.value.items as Node[]) {
        let param: Param;
        if (isMap(item)) {
          const [p] = r.entries(item);
          if (p === undefined) throw r.error('empty parameter', item);
          param = { name: p.key, default: r.template(p.value) };
        } else {
          param = { name: r.str(item, 'a parameter name') };
        }
        checkVariableName(param.name, 'parameter', r.nodeLine(item));
        if (params.some((q) => q.name === param.name)) {
          throw r.error(`duplicate parameter ${param.name}`, item);
        }
        params.push(param);
      }
    } else if (part.key === 'steps') {
      steps = new StepsParser(r).parse(part.value);
    } else {
      throw r.error(`unsupported: ${part.key} in subworkflow ${e.key}`, part.keyNode);
    }
  }
  if (steps === undefined) throw r.error(`subworkflow ${e.key} has no steps`, e.keyNode);
  return { name: e.key, line: r.nodeLine(e.keyNode), params, steps };
}

function parseDefinition(source: string): WorkflowProgram {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, intAsBigInt: true });
  const r = new YamlReader(lines, source);
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new WorkflowSyntaxError(
      `invalid YAML: ${first.message.split('\n')[0]}`,
      r.line(first.pos[0]),
    );
  }
  const root = doc.contents;
  const subworkflows = new Map<string, Subworkflow>();
  if (isSeq(root)) {
    r.subworkflowNames = new Set(['main']);
    subworkflows.set('main', {
      name: 'main',
      line: r.nodeLine(root),
      params: [],
      steps: new StepsParser(r).parse(root),
    });
  } else if (isMap(root)) {
    const entries = r.entries(root);
    // Every subworkflow name is known before any step is read: steps and expressions may call them.
    r.subworkflowNames = new Set(entries.map((e) => e.key));
    if (!r.subworkflowNames.has('main')) throw r.error('a definition needs a main workflow', root);
    for (const e of entries) subworkflows.set(e.key, parseSubworkflow(r, e));
  } else {
    throw r.error('a definition is a list of steps or a map of subworkflows', root);
  }
  checkSubworkflowCalls(r.pendingCalls, subworkflows);
  for (const sub of subworkflows.values()) checkScopes(sub);
  return { subworkflows };
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
  const program = parseDefinition(source);
  cache.set(source, program);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return program;
}
