/**
 * Reading the YAML tree of a definition: map entries with their key nodes,
 * strings, lines and positions for messages and stack traces, and values
 * with their `${…}` expressions compiled (templates).
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { WorkflowSyntaxError } from './errors.ts';
import { type Expr, expressionText } from './expression.ts';
import { compileExpression, type PendingCall } from './parse-rules.ts';
import type { SourcePosition, Template } from './program.ts';
import type { WfValue } from './values.ts';

/** One `key: value` of a YAML map, with the key's node for its line. */
export interface Entry {
  key: string;
  keyNode: Node | null;
  value: Node | null;
}

/** Shared state of one parse: the line counter, the subworkflow names, the calls to check at the end. */
export class YamlReader {
  readonly lines: LineCounter;
  readonly source: string;
  subworkflowNames: ReadonlySet<string> = new Set();
  /** Subworkflow calls (steps, expressions, retry predicates), checked once every subworkflow is parsed. */
  readonly pendingCalls: PendingCall[] = [];

  constructor(lines: LineCounter, source: string) {
    this.lines = lines;
    this.source = source;
  }

  line(offset: number | undefined): number | undefined {
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  nodeLine(node: Node | null | undefined): number {
    return this.line(node?.range?.[0]) ?? 1;
  }

  /** Line, column and byte length of a step (from its name to the end of its body). */
  position(keyNode: Node | null, value: Node | null): SourcePosition {
    const start = keyNode?.range?.[0] ?? 0;
    const end = value?.range?.[1] ?? keyNode?.range?.[1] ?? start;
    const pos = this.lines.linePos(start);
    return {
      line: pos.line,
      column: pos.col,
      length: Buffer.byteLength(this.source.slice(start, end).trimEnd()),
    };
  }

  error(message: string, node: Node | null | undefined): WorkflowSyntaxError {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? undefined : this.lines.linePos(offset);
    return new WorkflowSyntaxError(message, pos?.line, pos?.col);
  }

  entries(node: Node | null): Entry[] {
    if (!isMap(node)) throw this.error('expected a map', node);
    return node.items.map((pair) => {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) throw this.error('map keys must be plain strings', keyNode);
      return { key, keyNode, value: pair.value as Node | null };
    });
  }

  str(node: Node | null, what: string): string {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    throw this.error(`${what} must be a string`, node);
  }

  /** Compiles `${…}` text; calls to subworkflows are recorded for the argument check. */
  expression(text: string, line: number): Expr {
    return compileExpression(text, line, this.subworkflowNames, this.pendingCalls);
  }

  template(node: Node | null): Template {
    const line = this.nodeLine(node);
    if (node === null || isScalar(node)) {
      const v = (node?.value ?? null) as WfValue;
      if (typeof v === 'string') {
        const text = expressionText(v);
        if (text !== undefined) return { k: 'expr', e: this.expression(text, line), text, line };
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
            key: text === undefined ? e.key : this.expression(text, this.nodeLine(e.keyNode)),
            value: this.template(e.value),
          };
        }),
      };
    }
    throw this.error('unsupported YAML node (aliases and tags are not supported)', node);
  }

  /** A `${name}` reference (retry policies and predicates). */
  refName(node: Node | null): string {
    const text = expressionText(this.str(node, 'an expression reference'));
    if (text === undefined) throw this.error('expected an expression reference', node);
    return text.trim();
  }
}
