/**
 * Lexer and parser for Workflows expressions (the text inside `${…}`).
 * Precedence, highest first, per
 * https://cloud.google.com/workflows/docs/reference/syntax/datatypes#order-of-operations:
 * () . [] → not → unary - → * / // % → + - → comparisons and `in` → and → or.
 */
import type { WfValue } from './values.ts';

/** Binary operators of the language. */
export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '//'
  | '%'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'and'
  | 'or';

/** A parsed expression. */
export type Expr =
  | { readonly k: 'lit'; readonly v: WfValue }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'member'; readonly obj: Expr; readonly name: string }
  | { readonly k: 'index'; readonly obj: Expr; readonly index: Expr }
  | { readonly k: 'call'; readonly fn: string; readonly args: readonly Expr[] }
  | { readonly k: 'unary'; readonly op: 'not' | '-'; readonly e: Expr }
  | { readonly k: 'bin'; readonly op: BinaryOp; readonly l: Expr; readonly r: Expr }
  | { readonly k: 'list'; readonly items: readonly Expr[] }
  | { readonly k: 'map'; readonly entries: readonly (readonly [Expr, Expr])[] };

type Token =
  | { t: 'num'; v: bigint | number; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'id'; v: string; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'end'; pos: number };

/** Thrown for malformed expressions; the caller adds the YAML line. */
export class ExpressionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpressionSyntaxError';
  }
}

const OPERATORS = ['//', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '<', '>', '(', ')'];
const PUNCT = ['[', ']', '{', '}', ',', '.', ':'];
const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '"': '"',
  "'": "'",
  '\\': '\\',
};

function lex(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
      const text = m?.[0] ?? c;
      i += text.length;
      const isDouble = text.includes('.') || /[eE]/.test(text);
      const value = isDouble ? Number(text) : BigInt(text);
      // 2^63 itself is allowed so that -9223372036854775808 can be written.
      if (typeof value === 'bigint' && value > 2n ** 63n) {
        throw new ExpressionSyntaxError(`integer literal ${text} is outside the 64-bit range`);
      }
      tokens.push({ t: 'num', v: value, pos: start });
      continue;
    }
    if (c === '"' || c === "'") {
      let out = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionSyntaxError('unterminated string');
        const ch = src[i] ?? '';
        if (ch === c) break;
        if (ch === '\\') {
          const next = src[i + 1] ?? '';
          if (next === 'u') {
            out += String.fromCharCode(Number.parseInt(src.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          out += ESCAPES[next] ?? next;
          i += 2;
          continue;
        }
        out += ch;
        i++;
      }
      i++;
      tokens.push({ t: 'str', v: out, pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
      const text = m?.[0] ?? c;
      i += text.length;
      tokens.push({ t: 'id', v: text, pos: start });
      continue;
    }
    const op = [...OPERATORS, ...PUNCT].find((o) => src.startsWith(o, i));
    if (op === undefined) throw new ExpressionSyntaxError(`unexpected character '${c}'`);
    i += op.length;
    tokens.push({ t: 'op', v: op, pos: start });
  }
  tokens.push({ t: 'end', pos: src.length });
  return tokens;
}

const KEYWORD_FORMS: Record<string, string> = {
  and: 'and',
  AND: 'and',
  or: 'or',
  OR: 'or',
  not: 'not',
  NOT: 'not',
  in: 'in',
};
const LITERALS: Record<string, WfValue> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
  null: null,
};

class Parser {
  private i = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.i] ?? { t: 'end', pos: 0 };
  }

  private isOp(v: string): boolean {
    const tok = this.peek();
    return tok.t === 'op' && tok.v === v;
  }

  private keyword(): string | undefined {
    const tok = this.peek();
    return tok.t === 'id' ? KEYWORD_FORMS[tok.v] : undefined;
  }

  private expect(v: string): void {
    if (!this.isOp(v)) throw new ExpressionSyntaxError(`expected '${v}' at ${this.describe()}`);
    this.i++;
  }

  private describe(): string {
    const tok = this.peek();
    return tok.t === 'end' ? 'end of expression' : `'${String(tok.v)}' (offset ${tok.pos})`;
  }

  parseAll(): Expr {
    const e = this.parseOr();
    if (this.peek().t !== 'end') throw new ExpressionSyntaxError(`unexpected ${this.describe()}`);
    return e;
  }

  private parseOr(): Expr {
    let l = this.parseAnd();
    while (this.keyword() === 'or') {
      this.i++;
      l = { k: 'bin', op: 'or', l, r: this.parseAnd() };
    }
    return l;
  }

  private parseAnd(): Expr {
    let l = this.parseCompare();
    while (this.keyword() === 'and') {
      this.i++;
      l = { k: 'bin', op: 'and', l, r: this.parseCompare() };
    }
    return l;
  }

  private parseCompare(): Expr {
    let l = this.parseAdd();
    for (;;) {
      const tok = this.peek();
      let op: BinaryOp | undefined;
      if (tok.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(tok.v)) {
        op = tok.v as BinaryOp;
      } else if (this.keyword() === 'in') op = 'in';
      if (op === undefined) return l;
      this.i++;
      l = { k: 'bin', op, l, r: this.parseAdd() };
    }
  }

  private parseAdd(): Expr {
    let l = this.parseMul();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.peek() as { v: string }).v as BinaryOp;
      this.i++;
      l = { k: 'bin', op, l, r: this.parseMul() };
    }
    return l;
  }

  private parseMul(): Expr {
    let l = this.parseUnary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = (this.peek() as { v: string }).v as BinaryOp;
      this.i++;
      l = { k: 'bin', op, l, r: this.parseUnary() };
    }
    return l;
  }

  private parseUnary(): Expr {
    if (this.keyword() === 'not') {
      this.i++;
      return { k: 'unary', op: 'not', e: this.parseUnary() };
    }
    if (this.isOp('-')) {
      this.i++;
      const e = this.parseUnary();
      // Fold literals so that -9223372036854775808 is representable.
      if (e.k === 'lit' && typeof e.v === 'bigint') return { k: 'lit', v: -e.v };
      if (e.k === 'lit' && typeof e.v === 'number') return { k: 'lit', v: -e.v };
      return { k: 'unary', op: '-', e };
    }
    return this.parsePostfix();
  }

  private parsePostfix(): Expr {
    let e = this.parsePrimary();
    for (;;) {
      if (this.isOp('.')) {
        this.i++;
        const tok = this.peek();
        if (tok.t !== 'id') throw new ExpressionSyntaxError(`expected a name after '.'`);
        this.i++;
        e = { k: 'member', obj: e, name: tok.v };
      } else if (this.isOp('[')) {
        this.i++;
        const index = this.parseOr();
        this.expect(']');
        e = { k: 'index', obj: e, index };
      } else if (this.isOp('(')) {
        const fn = qualifiedName(e);
        if (fn === undefined) throw new ExpressionSyntaxError('only named functions can be called');
        this.i++;
        const args: Expr[] = [];
        while (!this.isOp(')')) {
          args.push(this.parseOr());
          if (!this.isOp(')')) this.expect(',');
        }
        this.i++;
        e = { k: 'call', fn, args };
      } else {
        return e;
      }
    }
  }

  private parsePrimary(): Expr {
    const tok = this.peek();
    if (tok.t === 'num' || tok.t === 'str') {
      this.i++;
      return { k: 'lit', v: tok.v };
    }
    if (tok.t === 'id') {
      if (tok.v in LITERALS) {
        this.i++;
        return { k: 'lit', v: LITERALS[tok.v] ?? null };
      }
      if (KEYWORD_FORMS[tok.v] !== undefined && tok.v !== 'not' && tok.v !== 'NOT') {
        throw new ExpressionSyntaxError(`unexpected keyword '${tok.v}'`);
      }
      this.i++;
      return { k: 'var', name: tok.v };
    }
    if (this.isOp('(')) {
      this.i++;
      const e = this.parseOr();
      this.expect(')');
      return e;
    }
    if (this.isOp('[')) {
      this.i++;
      const items: Expr[] = [];
      while (!this.isOp(']')) {
        items.push(this.parseOr());
        if (!this.isOp(']')) this.expect(',');
      }
      this.i++;
      return { k: 'list', items };
    }
    if (this.isOp('{')) {
      this.i++;
      const entries: [Expr, Expr][] = [];
      while (!this.isOp('}')) {
        const key = this.parseOr();
        this.expect(':');
        entries.push([key, this.parseOr()]);
        if (!this.isOp('}')) this.expect(',');
      }
      this.i++;
      return { k: 'map', entries };
    }
    throw new ExpressionSyntaxError(`unexpected ${this.describe()}`);
  }
}

/** `a.b.c` as the dotted name "a.b.c", or undefined for anything else. */
export function qualifiedName(e: Expr): string | undefined {
  if (e.k === 'var') return e.name;
  if (e.k === 'member') {
    const base = qualifiedName(e.obj);
    return base === undefined ? undefined : `${base}.${e.name}`;
  }
  return undefined;
}

/** Parses the text between `${` and `}`. */
export function parseExpression(src: string): Expr {
  return new Parser(lex(src)).parseAll();
}

/** The expression text of a YAML string written as `${…}`, or undefined for a plain string. */
export function expressionText(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.startsWith('${') && trimmed.endsWith('}')) return trimmed.slice(2, -1);
  return undefined;
}
