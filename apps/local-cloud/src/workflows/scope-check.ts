/**
 * Deploy-time variable scoping, as Google checks it
 * (https://cloud.google.com/workflows/docs/reference/syntax/variables#variable-scope):
 * "A variable created inside a for loop belongs to the local scope of that
 * loop … accessing it outside of the loop will raise an error when deploying
 * the workflow. This local scoping also applies to any variable created inside
 * an except block." Parallel branches and iterations are scopes too, and a
 * branch may assign a variable of its parent scope only when the parallel
 * step lists it in `shared` ("deployment error, defined in the parent scope
 * but not marked shared": the parallel shared-variables sample).
 *
 * The check is by block, not by control flow: a variable is visible in a
 * block when it is assigned anywhere in that block or an enclosing one, or is
 * a parameter, loop variable or `except` variable of it.
 */
import { WorkflowSyntaxError } from './errors.ts';
import type { Expr } from './expression.ts';
import { exprChildren } from './parse-rules.ts';
import type { ParallelSpec, Step, StepBody, Subworkflow, Template } from './program.ts';

interface Scope {
  readonly kind: 'subworkflow' | 'for' | 'except' | 'parallel';
  readonly names: Set<string>;
  readonly parent?: Scope;
  /** For a parallel branch or iteration: the variables of enclosing scopes it may assign. */
  readonly shared?: ReadonlySet<string>;
}

function visible(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s !== undefined; s = s.parent) if (s.names.has(name)) return true;
  return false;
}

function freeVariables(e: Expr, out: string[] = []): string[] {
  if (e.k === 'var') out.push(e.name);
  for (const child of exprChildren(e)) freeVariables(child, out);
  return out;
}

/** Names a block assigns (assign targets and call results), not looking into nested scopes. */
function collectAssigned(steps: readonly Step[], out: Set<string>): void {
  for (const step of steps) collectBody(step.body, out);
}

function collectBody(body: StepBody, out: Set<string>): void {
  for (const item of body.assign ?? []) out.add(item.name);
  if (body.call?.result !== undefined) out.add(body.call.result);
  for (const cond of body.switch ?? []) collectBody(cond.body, out);
  if (body.steps !== undefined) collectAssigned(body.steps, out);
  if (body.try !== undefined) collectBody(body.try.body, out);
}

/** A new scope: its own variables are those it assigns that no enclosing scope has, plus `local`. */
function openScope(
  kind: Scope['kind'],
  parent: Scope,
  steps: readonly Step[],
  local: readonly string[],
  shared?: ReadonlySet<string>,
): Scope {
  const assigned = new Set<string>();
  collectAssigned(steps, assigned);
  const names = new Set([...assigned].filter((n) => !visible(parent, n)));
  for (const n of local) names.add(n);
  return { kind, names, parent, ...(shared === undefined ? {} : { shared }) };
}

class ScopeChecker {
  private checkRefs(t: Template | undefined, scope: Scope, line: number): void {
    if (t === undefined) return;
    switch (t.k) {
      case 'lit':
        return;
      case 'expr':
        this.checkExpr(t.e, scope, t.line);
        return;
      case 'list':
        for (const item of t.items) this.checkRefs(item, scope, line);
        return;
      case 'map':
        for (const { key, value } of t.entries) {
          if (typeof key !== 'string') this.checkExpr(key, scope, line);
          this.checkRefs(value, scope, line);
        }
    }
  }

  private checkExpr(e: Expr, scope: Scope, line: number): void {
    for (const name of freeVariables(e)) {
      if (!visible(scope, name)) {
        throw new WorkflowSyntaxError(`variable ${name} is not defined in this scope`, line);
      }
    }
  }

  /** An assignment inside a parallel branch may reach an enclosing scope only through `shared`. */
  private checkWrite(name: string, scope: Scope, line: number): void {
    const crossed: Scope[] = [];
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.names.has(name)) {
        const denied = crossed.find((b) => !b.shared?.has(name));
        if (denied !== undefined) {
          throw new WorkflowSyntaxError(
            `variable ${name} belongs to the scope enclosing a parallel step and is not listed in its shared variables`,
            line,
          );
        }
        return;
      }
      if (s.kind === 'parallel') crossed.push(s);
    }
  }

  steps(steps: readonly Step[], scope: Scope): void {
    for (const step of steps) this.body(step.body, scope);
  }

  private body(body: StepBody, scope: Scope): void {
    for (const item of body.assign ?? []) {
      this.checkRefs(item.value, scope, item.line);
      for (const seg of item.path) if (seg.k === 'index') this.checkExpr(seg.e, scope, item.line);
      // Assigning into a path reads the variable first.
      if (item.path.length > 0 && !visible(scope, item.name)) {
        throw new WorkflowSyntaxError(
          `variable ${item.name} is not defined in this scope`,
          item.line,
        );
      }
      this.checkWrite(item.name, scope, item.line);
    }
    if (body.call !== undefined) {
      this.checkRefs(body.call.args, scope, body.line);
      if (body.call.result !== undefined) this.checkWrite(body.call.result, scope, body.line);
    }
    for (const cond of body.switch ?? []) {
      this.checkRefs(cond.condition, scope, cond.line);
      this.body(cond.body, scope);
    }
    if (body.for !== undefined) {
      const f = body.for;
      this.checkRefs(f.in ?? f.range, scope, body.line);
      const local = f.index === undefined ? [f.value] : [f.value, f.index];
      this.steps(f.steps, openScope('for', scope, f.steps, local));
    }
    if (body.parallel !== undefined) this.parallel(body.parallel, scope);
    if (body.steps !== undefined) this.steps(body.steps, scope);
    if (body.try !== undefined) {
      this.body(body.try.body, scope);
      const retry = body.try.retry;
      for (const t of [retry?.maxRetries, retry?.initialDelay, retry?.maxDelay, retry?.multiplier])
        this.checkRefs(t, scope, retry?.line ?? body.line);
      const except = body.try.except;
      if (except !== undefined) {
        const local = except.as === undefined ? [] : [except.as];
        this.steps(except.steps, openScope('except', scope, except.steps, local));
      }
    }
    this.checkRefs(body.raise, scope, body.line);
    this.checkRefs(body.return, scope, body.line);
  }

  private parallel(spec: ParallelSpec, scope: Scope): void {
    this.checkRefs(spec.concurrencyLimit, scope, spec.line);
    for (const name of spec.shared) {
      if (!visible(scope, name)) {
        throw new WorkflowSyntaxError(
          `shared variable ${name} must be assigned before the parallel step, in its enclosing scope`,
          spec.line,
        );
      }
    }
    const shared = new Set(spec.shared);
    for (const branch of spec.branches ?? []) {
      this.steps(branch.steps, openScope('parallel', scope, branch.steps, [], shared));
    }
    const f = spec.for;
    if (f !== undefined) {
      this.checkRefs(f.in ?? f.range, scope, spec.line);
      const local = f.index === undefined ? [f.value] : [f.value, f.index];
      this.steps(f.steps, openScope('parallel', scope, f.steps, local, shared));
    }
  }
}

/** Checks variable references and parallel assignments of one subworkflow; throws WorkflowSyntaxError. */
export function checkScopes(sub: Subworkflow): void {
  const names = new Set(sub.params.map((p) => p.name));
  collectAssigned(sub.steps, names);
  new ScopeChecker().steps(sub.steps, { kind: 'subworkflow', names });
}
