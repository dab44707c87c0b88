import { describe, expect, it } from 'vitest';
import { BLOCKING_FUNCTIONS, BUILTIN_CALLS, CALL_TARGETS } from './builtin-calls.ts';
import { parseWorkflow } from './parse.ts';
import { isExpressionFunction } from './stdlib.ts';

describe('the built-in call table', () => {
  it('marks as expression functions exactly the entries the standard library evaluates', () => {
    for (const [name, kind] of Object.entries(BUILTIN_CALLS)) {
      expect(isExpressionFunction(name), name).toBe(kind === 'expression');
    }
  });

  it('derives the call targets and the blocking functions from the same entries', () => {
    expect([...CALL_TARGETS].sort()).toEqual(Object.keys(BUILTIN_CALLS).sort());
    expect([...BLOCKING_FUNCTIONS].every((name) => CALL_TARGETS.has(name))).toBe(true);
    expect([...CALL_TARGETS].filter((name) => !BLOCKING_FUNCTIONS.has(name)).sort()).toEqual([
      'sys.get_env',
      'sys.now',
    ]);
  });

  it.each(Object.keys(BUILTIN_CALLS))('accepts %s as a call step at deploy time', (name) => {
    const source = `main:\n  steps:\n    - one:\n        call: ${name}\n        args: {}\n`;
    expect(() => parseWorkflow(source)).not.toThrow();
  });
});
