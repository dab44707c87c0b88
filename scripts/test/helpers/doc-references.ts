/**
 * Finds the references in the repository's text files that point into its
 * Markdown documents, and says which do not resolve: a `docs/<file>.md#anchor`
 * (or any Markdown link with an anchor) that names no heading of that file, a
 * `<file>.md, "Heading"` whose heading does not exist, a section sign that
 * cites no external standard and no numbered heading, and any reference to the design
 * document or issue numbers a cloner does not have
 * (docs/architecture.md says why the design lives in the repository).
 *
 * Anchors follow GitHub's rules (the github-slugger algorithm): the heading's
 * text as rendered, lower-cased, with every character that is not a letter,
 * mark, number, connector (`_`), hyphen or space removed, each space made a
 * hyphen, and `-1`, `-2`… added to repeated slugs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** One reference that does not resolve. */
export interface BrokenReference {
  /** Repository-relative path of the file holding the reference. */
  file: string;
  line: number;
  /** The reference as written. */
  text: string;
  reason: string;
}

/** A Markdown file's headings. */
export interface Headings {
  /** Every anchor GitHub generates, plus explicit `<a id|name>` anchors. */
  anchors: Set<string>;
  /** The headings' rendered text, in order. */
  titles: string[];
}

const SECTION = '\u00a7';

/** The text GitHub renders for a heading's Markdown (links → their text, no code or emphasis marks). */
function renderedText(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .replace(/(\*\*|__|\*)/g, '')
    .trim();
}

/** GitHub's anchor for a heading's text (before the de-duplication suffix). */
export function githubSlug(heading: string): string {
  return renderedText(heading)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The headings of a Markdown text; lines inside fenced code blocks are not headings. */
export function headingsOf(markdown: string): Headings {
  const anchors = new Set<string>();
  const titles: string[] = [];
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (opener) {
      if (fence === undefined) fence = opener[0];
      else if (opener[0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1] ?? '');
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    titles.push(renderedText(heading));
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return { anchors, titles };
}

/**
 * A file's text with every line's leading indentation and comment marker
 * (`*`, `//`, `#`, `--`) removed and the lines joined by single spaces, so a
 * reference broken across comment lines is read whole; `lineAt` maps an
 * offset back to its 1-based line.
 */
function joinLines(text: string): { joined: string; lineAt: (offset: number) => number } {
  const starts: number[] = [];
  let joined = '';
  for (const line of text.split('\n')) {
    starts.push(joined.length);
    joined += `${line.replace(/^\s*(?:\/\*\*?|\*\/?|\/\/+|#+|--)?\s*/, '')} `;
  }
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return { joined, lineAt };
}

/**
 * What a section sign may cite besides our own documents: an RFC, an ITU-T or ISO
 * standard, the ICC specification, the Fetch standard. The citation must come
 * within a few words before the sign (a chain of numbers after one counts).
 */
const EXTERNAL_CITATION =
  /(?:RFC \d+|H\.26[45]|ISO\/IEC [\d-]+|ICC\.1(?::\d+)?|Fetch standard|W3C [\w ]+)[^.;]{0,40}$/;

/** A link target or plain path of a Markdown file, with an optional anchor. */
const DOC_ANCHOR = /(?<![\w/.-])((?:\.\.\/)*docs\/[\w.-]+\.md)#([\p{L}\p{N}_-]+)/gu;
const MARKDOWN_LINK = /\]\(([^)\s]*)\)/g;
const QUOTED_HEADING =
  /(?<![\w/.-])([\w./-]+\.md)`?,?\s+\(?"([^"]+)"((?:,?\s+(?:and\s+)?"[^"]+")*)/g;
const DESIGN_REFERENCE = new RegExp(`\\bDESIGN(?:\\.md|\\s*${SECTION})`, 'g');
const ISSUE_NUMBER = /\b[Ii]ssues? #?\d+(?: and \d+)?/g;

/** What {@link checkReferences} found. */
export interface ReferenceCheck {
  /** References checked, by kind (so a test can tell that it looked at all). */
  checked: Record<'anchor' | 'link' | 'quoted' | 'section', number>;
  broken: BrokenReference[];
}

/** The headings of the repository's file at `path` (read once), or undefined when there is no such file. */
function headingsReader(root: string): (path: string) => Headings | undefined {
  const cache = new Map<string, Headings | undefined>();
  return (path) => {
    if (!cache.has(path)) {
      const full = join(root, path);
      cache.set(
        path,
        existsSync(full) && statSync(full).isFile()
          ? headingsOf(readFileSync(full, 'utf8'))
          : undefined,
      );
    }
    return cache.get(path);
  };
}

/** One file being checked: its text, the counts and findings it adds to, and how it resolves paths. */
interface FileScan {
  root: string;
  file: string;
  joined: string;
  lines: string[];
  lineAt: (offset: number) => number;
  checked: ReferenceCheck['checked'];
  headingsAt: (path: string) => Headings | undefined;
  report: (offset: number, reference: string, reason: string) => void;
  /** A path as written in the file: relative to the file when it is there (or starts with `.`), else to the root. */
  resolveFrom: (target: string) => string;
  /** Reports `reference` unless `target` has a heading with `anchor`. */
  checkAnchor: (offset: number, reference: string, target: string, anchor: string) => void;
}

function scanOf(
  root: string,
  file: string,
  headingsAt: FileScan['headingsAt'],
  found: ReferenceCheck,
): FileScan {
  const text = readFileSync(join(root, file), 'utf8');
  const { joined, lineAt } = joinLines(text);
  const report: FileScan['report'] = (offset, reference, reason) =>
    found.broken.push({ file, line: lineAt(offset), text: reference, reason });
  return {
    root,
    file,
    joined,
    lines: text.split('\n'),
    lineAt,
    checked: found.checked,
    headingsAt,
    report,
    resolveFrom: (target) => {
      const fromFile = normalize(join(dirname(file), target));
      if (target.startsWith('.') || existsSync(join(root, fromFile))) return fromFile;
      return normalize(target);
    },
    checkAnchor: (offset, reference, target, anchor) => {
      const headings = headingsAt(target);
      if (!headings) report(offset, reference, `no file ${target}`);
      else if (!headings.anchors.has(decodeURIComponent(anchor).toLowerCase()))
        report(offset, reference, `${target} has no heading with the anchor #${anchor}`);
    },
  };
}

/** docs/<file>.md#anchor, written anywhere (comments, strings, prose). */
function checkDocAnchors(scan: FileScan): void {
  for (const m of scan.joined.matchAll(DOC_ANCHOR)) {
    const [reference, path = '', anchor = ''] = m;
    // A Markdown link's target is checked by checkMarkdownLinks, relative to its file.
    if (scan.file.endsWith('.md') && scan.joined.slice(m.index - 2, m.index) === '](') continue;
    scan.checked.anchor++;
    scan.checkAnchor(m.index, reference, normalize(path.replace(/^(?:\.\.\/)+/, '')), anchor);
  }
}

/** A Markdown file's links to a file of the repository, with or without an anchor. */
function checkMarkdownLinks(scan: FileScan): void {
  for (const m of scan.joined.matchAll(MARKDOWN_LINK)) {
    const [reference, target = ''] = m;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    const [path = '', anchor] = target.split('#');
    scan.checked.link++;
    const resolved = path === '' ? scan.file : scan.resolveFrom(path);
    if (path !== '' && !existsSync(join(scan.root, resolved))) {
      scan.report(m.index, reference, `no file ${resolved}`);
    } else if (anchor !== undefined && resolved.endsWith('.md')) {
      scan.checkAnchor(m.index, reference, resolved, anchor);
    }
  }
}

/** <file>.md, "Heading" (and more quoted headings after it): a heading that starts so. */
function checkQuotedHeadings(scan: FileScan): void {
  for (const m of scan.joined.matchAll(QUOTED_HEADING)) {
    const [reference, path = '', first = '', rest = ''] = m;
    const target = scan.resolveFrom(path);
    const headings = scan.headingsAt(target);
    scan.checked.quoted++;
    if (!headings) {
      scan.report(m.index, reference, `no file ${target}`);
      continue;
    }
    const wanted = [first, ...[...rest.matchAll(/"([^"]+)"/g)].map((q) => q[1] ?? '')];
    for (const title of wanted) {
      const plain = renderedText(title).toLowerCase();
      if (!headings.titles.some((t) => t.toLowerCase().startsWith(plain)))
        scan.report(m.index, reference, `${target} has no heading "${title}"`);
    }
  }
}

/** A section sign cites an external standard, or a numbered heading of a named document. */
function checkSectionSigns(scan: FileScan): void {
  const { joined } = scan;
  for (let at = joined.indexOf(SECTION); at !== -1; at = joined.indexOf(SECTION, at + 1)) {
    const before = joined.slice(Math.max(0, at - 80), at);
    const number = /^\s*(\d+(?:\.\d+)*)/.exec(joined.slice(at + 1))?.[1] ?? '';
    const reference = `${before.slice(-20)}${SECTION}${number}`.trim();
    scan.checked.section++;
    const chained = /[\d.]+\s*(?:,|and|–|-|\()?\s*$/.test(before) && before.includes(SECTION);
    if (EXTERNAL_CITATION.test(before) || chained) continue;
    const doc = /([\w./-]+\.md)`?,?\s*$/.exec(before)?.[1];
    const headings = doc ? scan.headingsAt(scan.resolveFrom(doc)) : undefined;
    if (headings?.titles.some((t) => t.startsWith(`${number}.`) || t.startsWith(`${number} `)))
      continue;
    scan.report(
      at,
      reference,
      `a ${SECTION} that cites no external standard and no numbered heading of a named document; use docs/<file>.md#<anchor>`,
    );
  }
}

/** References to what a cloner does not have: the design document, our issue numbers. */
function checkOutsideReferences(scan: FileScan): void {
  for (const m of scan.joined.matchAll(DESIGN_REFERENCE)) {
    scan.report(
      m.index,
      m[0],
      'the design document is not in the repository: use docs/architecture.md#<anchor>',
    );
  }
  for (const m of scan.joined.matchAll(ISSUE_NUMBER)) {
    // A third party's issue, cited with its address (same line or the next), is a source;
    // ours are not in the repository.
    const line = scan.lineAt(m.index);
    if (/https?:\/\//.test(`${scan.lines[line - 1]} ${scan.lines[line] ?? ''}`)) continue;
    scan.report(m.index, m[0], 'issue numbers mean nothing to a cloner: state the decision itself');
  }
}

/** Checks the references of `files` (repository-relative) under `root`. */
export function checkReferences(root: string, files: readonly string[]): ReferenceCheck {
  const found: ReferenceCheck = {
    checked: { anchor: 0, link: 0, quoted: 0, section: 0 },
    broken: [],
  };
  const headingsAt = headingsReader(root);
  for (const file of files) {
    const scan = scanOf(root, file, headingsAt, found);
    checkDocAnchors(scan);
    if (file.endsWith('.md')) checkMarkdownLinks(scan);
    checkQuotedHeadings(scan);
    checkSectionSigns(scan);
    checkOutsideReferences(scan);
  }
  return found;
}

/** Files whose references are checked: every tracked or new, not ignored, text file. */
export function textFilesOf(root: string): string[] {
  const listed = execFileSync(
    'git',
    ['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  )
    .split('\0')
    .filter((f) => f !== '' && f !== 'pnpm-lock.yaml');
  return listed.filter((file) => {
    const full = join(root, file);
    if (!existsSync(full) || !statSync(full).isFile() || statSync(full).size > 2_000_000)
      return false;
    return !readFileSync(full).subarray(0, 8192).includes(0);
  });
}
