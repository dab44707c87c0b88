/** tools/long-functions.ts: what it counts as a function and as its length. */
import { longFunctions } from '@slideshow/tools/long-functions';
import { describe, expect, it } from 'vitest';

/** A function named `name` spanning exactly `lines` lines. */
function fn(name: string, lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`);
  return [`function ${name}() {`, ...body, '}'].join('\n');
}

describe('longFunctions', () => {
  it('lists a function of 101 lines and not one of 100', () => {
    const source = `${fn('exactlyAtLimit', 100)}\n${fn('overLimit', 101)}\n`;
    expect(longFunctions(source, 'x.ts')).toEqual([{ name: 'overLimit', line: 101, lines: 101 }]);
  });

  it('counts nested functions on their own and names callbacks by their call', () => {
    const inner = fn('inner', 102)
      .replace('function inner() {', 'it("x", () => {')
      .replace(/}$/, '});');
    const source = `export const outer = () => {\n${inner}\n};\n`;
    expect(longFunctions(source, 'x.ts')).toEqual([
      { name: 'outer', line: 1, lines: 104 },
      { name: 'callback of it', line: 2, lines: 102 },
    ]);
  });

  it('measures a function by its real extent when a template literal holds braces and newlines', () => {
    const source = `function short() {\n  return \`${'{\n'.repeat(150)}\`;\n}\n`;
    expect(longFunctions(source, 'x.ts', 200)).toEqual([]);
    expect(longFunctions(source, 'x.ts')).toEqual([{ name: 'short', line: 1, lines: 153 }]);
  });
});
