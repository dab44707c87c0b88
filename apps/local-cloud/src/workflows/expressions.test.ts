// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
import { describe, expect, it } from 'vitest';
import { parseWorkflow } from './parse.ts';
import { recordingContext, run, runError } from './test-support.ts';

/** `${expr}` as a YAML double-quoted scalar (JSON strings are valid YAML). */
function yamlExpr(expr: string): string {
  return JSON.stringify(`\${${expr}}`);
}

/** Runs `${expr}` in a one-step workflow, with `vars` assigned first. */
function evalExpr(
  expr: string,
  vars: Record<string, string> = {},
  env: Record<string, string> = {},
) {
  const assigns = Object.entries(vars)
    .map(([k, v]) => `      - ${k}: ${JSON.stringify(v)}\n`)
    .join('');
  const pre = assigns === '' ? '' : `- init:\n    assign:\n${assigns}`;
  return run(`${pre}- done:\n    return: ${yamlExpr(expr)}\n`, null, recordingContext({ env }));
}

function evalError(expr: string) {
  return runError(`- done:\n    return: ${yamlExpr(expr)}\n`);
}

describe('arithmetic', () => {
  it('keeps integer arithmetic in integers', async () => {
    expect(await evalExpr('7 + 3 * 2 - 1')).toBe(12);
  });

  it('always yields a double from /', async () => {
    expect(await evalExpr('string(10 / 4)')).toBe('2.5');
    expect(await evalExpr('27 * 9 / 5 + 32')).toBeCloseTo(80.6);
  });

  it('floors with // and takes the remainder with %', async () => {
    expect(await evalExpr('7 // 2')).toBe(3);
    expect(await evalExpr('-7 // 2')).toBe(-4);
    expect(await evalExpr('7 % 3')).toBe(1);
    expect(await evalExpr('7.5 // 2')).toBe(3);
  });

  it('mixes integers and doubles into doubles', async () => {
    expect(await evalExpr('string(1 + 0.5)')).toBe('1.5');
  });

  it('raises ZeroDivisionError for division by zero', async () => {
    expect(await evalError('1 / 0')).toMatchObject({ tags: ['ZeroDivisionError'] });
    expect(await evalError('1 % 0')).toMatchObject({ tags: ['ZeroDivisionError'] });
  });

  it('refuses an integer literal outside the 64-bit range at parse time, but accepts the minimum', async () => {
    expect(() => parseWorkflow('- a:\n    return: ${99999999999999999999}\n')).toThrow(
      /integer literal 99999999999999999999 is outside the 64-bit range \(line 2\)/,
    );
    expect(await evalExpr('string(-9223372036854775808)')).toBe('-9223372036854775808');
  });

  it('raises ValueError when a 64-bit integer overflows', async () => {
    expect(await evalError('9223372036854775807 + 1')).toMatchObject({ tags: ['ValueError'] });
  });

  it('honours the documented precedence: not binds tighter than comparison', async () => {
    expect(await evalExpr('not false == true')).toBe(true);
    expect(await evalExpr('1 + 2 * 3 == 7 and 2 > 1 or false')).toBe(true);
    expect(await evalExpr('-(2 + 3) * 2')).toBe(-10);
  });
});

describe('strings and types', () => {
  it('concatenates strings with +', async () => {
    expect(await evalExpr('"a" + "b" + string(1)')).toBe('ab1');
  });

  it('raises TypeError for string + integer, as Google does', async () => {
    const error = await evalError('"a" + 1');
    expect(error.tags).toEqual(['TypeError']);
    expect(error.message).toMatch(/string, integer/);
  });

  it('raises TypeError for and/or on non-booleans', async () => {
    expect(await evalError('1 and true')).toMatchObject({ tags: ['TypeError'] });
  });

  it('converts with int, double and string', async () => {
    expect(await evalExpr('int("42") + int(2.9)')).toBe(44);
    expect(await evalExpr('double("2.5") * 2')).toBe(5);
    expect(await evalExpr('string(true)')).toBe('true');
    expect(await evalError('int("x")')).toMatchObject({ tags: ['ValueError'] });
  });

  it('accepts True, TRUE and the upper-case operators', async () => {
    expect(await evalExpr('True AND NOT FALSE')).toBe(true);
  });
});

describe('variables, indexing and membership', () => {
  it('reads map keys with . and [] and list items with []', async () => {
    const vars = { m: '${json.decode(\'{"a": {"b": [10, 20, 30]}}\')}' };
    expect(await evalExpr('m.a.b[1] + m["a"]["b"][2]', vars)).toBe(50);
  });

  it('raises KeyError for a variable not assigned yet and a missing key', async () => {
    // A variable assigned nowhere is refused at deploy (see scopes.test.ts); one assigned
    // later in the same block passes the deploy check and raises KeyError when read first.
    const early =
      '- read:\n    assign:\n      - y: ${later}\n- set:\n    assign:\n      - later: 1\n';
    expect(await runError(early)).toMatchObject({ tags: ['KeyError'] });
    expect(await evalExpr('map.get(m, "zz")', { m: '${json.decode("{}")}' })).toBeNull();
  });

  it('raises IndexError outside a list', async () => {
    expect(await evalError('[1, 2][2]')).toMatchObject({ tags: ['IndexError'] });
  });

  it('tests membership of list items and map keys with in', async () => {
    expect(await evalExpr('2 in [1, 2]')).toBe(true);
    expect(await evalExpr('"k" in {"k": 1}')).toBe(true);
    expect(await evalExpr('"x" in {"k": 1}')).toBe(false);
  });
});

describe('standard library', () => {
  it('reads nested optional keys with map.get and a key list, and falls back with default', async () => {
    const vars = { m: '${json.decode(\'{"a": {"b": 1}}\')}' };
    expect(await evalExpr('map.get(m, ["a", "b"])', vars)).toBe(1);
    expect(await evalExpr('default(map.get(m, ["a", "x"]), "fallback")', vars)).toBe('fallback');
  });

  it('counts characters, list items and map entries with len, and lists keys', async () => {
    expect(await evalExpr('len("héllo") + len([1, 2]) + len({"a": 1})')).toBe(8);
    expect(await evalExpr('keys({"b": 1, "a": 2})')).toEqual(['b', 'a']);
  });

  it('encodes and decodes JSON, keeping integers integers', async () => {
    expect(await evalExpr('json.encode_to_string({"a": [1, 2.5, "x", null, true]})')).toBe(
      '{"a":[1,2.5,"x",null,true]}',
    );
    expect(await evalExpr('string(json.decode("[12345678901234567]")[0] + 1)')).toBe(
      '12345678901234568',
    );
  });

  it('implements the text functions', async () => {
    expect(await evalExpr('text.split("a,b,c", ",")')).toEqual(['a', 'b', 'c']);
    expect(await evalExpr('text.replace_all("a-b-c", "-", "+")')).toBe('a+b+c');
    expect(await evalExpr('text.substring("abcdef", 1, 4)')).toBe('bcd');
    expect(await evalExpr('text.to_upper("ab") + text.to_lower("CD")')).toBe('ABcd');
    expect(await evalExpr('text.match_regex("img-42", "^img-[0-9]+$")')).toBe(true);
    expect(await evalExpr('text.find_all("a.b.a", "a")')).toEqual([
      { index: 0, match: 'a' },
      { index: 4, match: 'a' },
    ]);
    expect(await evalExpr('text.replace_all_regex("a1b22", "[0-9]+", "#")')).toBe('a#b#');
  });

  it('matches regular expressions as RE2 does: its syntax, leftmost-longest, a literal replacement', async () => {
    expect(await evalExpr('text.match_regex("img-42", "^(?P<kind>img)-[0-9]+$")')).toBe(true);
    expect(await evalExpr('text.find_all_regex("onetwo one", "one|onetwo")')).toEqual([
      { index: 0, match: 'onetwo' },
      { index: 7, match: 'one' },
    ]);
    expect(await evalExpr('text.replace_all_regex("one two", "(o)ne|two", "<\\\\1$1>")')).toBe(
      '<\\1$1> <\\1$1>',
    );
    expect(await evalExpr('text.find_all_regex("é😀x", "x")')).toEqual([{ index: 2, match: 'x' }]);
    for (const pattern of ['(?=a)a', '(?<=a)b', '(a)\\\\1']) {
      expect(await evalError(`text.match_regex("aab", "${pattern}")`)).toMatchObject({
        tags: ['ValueError'],
      });
    }
  });

  it('takes time linear in the input: a pattern that backtracks exponentially in JavaScript answers', async () => {
    const subject = `${'a'.repeat(64)}b`;
    expect(await evalExpr(`text.match_regex("${subject}", "^(a+)+$")`)).toBe(false);
    expect(await evalExpr(`len(text.find_all_regex("${subject}", "(a|aa)+$"))`)).toBe(0);
    expect(await evalExpr(`text.replace_all_regex("${subject}", "(a*)*c", "")`)).toBe(subject);
  });

  it('appends and prepends with list.concat and list.prepend', async () => {
    expect(await evalExpr('list.prepend(list.concat([2], 3), 1)')).toEqual([1, 2, 3]);
  });

  it('round-trips base64 through bytes', async () => {
    expect(await evalExpr('text.decode(base64.decode(base64.encode(text.encode("hi"))))')).toBe(
      'hi',
    );
    expect(await evalExpr('base64.encode(text.encode("hi"))')).toBe('aGk=');
  });

  it('implements math.abs, math.max and math.min', async () => {
    expect(await evalExpr('math.abs(-3) + math.max(1, 2) + math.min(4, 5.5)')).toBe(9);
  });

  it('formats seconds since the epoch as RFC 3339 with time.format', async () => {
    expect(await evalExpr('time.format(0)')).toBe('1970-01-01T00:00:00.000000Z');
    expect(await evalExpr('time.format(0, "Europe/Paris")')).toBe(
      '1970-01-01T01:00:00.000000+01:00',
    );
    expect(await evalError('time.format(0, "Mars/Olympus")')).toMatchObject({
      tags: ['ValueError'],
    });
  });

  it('reads the environment with sys.get_env', async () => {
    expect(
      await evalExpr('sys.get_env("A") + default(sys.get_env("B"), "-")', {}, { A: 'x' }),
    ).toBe('x-');
  });

  it('generates distinct UUIDs', async () => {
    expect(await evalExpr('uuid.generate() != uuid.generate()')).toBe(true);
  });

  it('refuses a blocking call inside an expression', async () => {
    expect(() => parseWorkflow('- a:\n    return: ${http.get("http://x")}\n')).toThrow(
      'unsupported: function http.get (line 2)',
    );
  });
});
