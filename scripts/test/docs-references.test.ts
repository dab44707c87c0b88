/**
 * References into the docs resolve: every `docs/<file>.md#anchor`, Markdown
 * link, quoted heading and section sign in the repository names something that
 * exists (helpers/doc-references.ts), docs/architecture.md keeps the headings
 * the code points at, and the checker itself slugs as GitHub does and reports
 * each kind of broken reference.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkReferences, githubSlug, headingsOf, textFilesOf } from './helpers/doc-references.ts';
import { readRepoText, repoRoot } from './helpers/repo-files.ts';

describe('references into the docs', () => {
  const show = (b: { file: string; line: number; text: string; reason: string }) =>
    `${b.file}:${b.line}: ${b.text} (${b.reason})`;

  it('every docs/<file>.md#anchor, Markdown link, quoted heading and section sign in the repository resolves, and none cites the design document or an issue number', () => {
    const { checked, broken } = checkReferences(repoRoot, textFilesOf(repoRoot));
    // It looked: the repository has dozens of each kind (a scan that finds nothing passes vacuously).
    expect(checked.anchor).toBeGreaterThan(20);
    expect(checked.link).toBeGreaterThan(30);
    expect(checked.quoted).toBeGreaterThan(30);
    expect(checked.section).toBeGreaterThan(10);
    expect(broken.map(show)).toEqual([]);
  });

  it('docs/architecture.md has the headings the code points at', async () => {
    const { anchors } = headingsOf(await readRepoText('docs/architecture.md'));
    for (const anchor of [
      'the-pipeline',
      'dispatch',
      'the-local-stack',
      'contracts',
      'error-codes-and-http-statuses',
      'image-states',
      'generations',
      'who-retries-what',
      'the-invariant',
      'the-single-writer',
      'package-seams',
    ])
      expect([...anchors]).toContain(anchor);
  });

  it('slugs headings as GitHub does: punctuation and code marks dropped, each space a hyphen, repeats numbered', () => {
    expect(githubSlug('Failed images: `failed_tasks`')).toBe('failed-images-failed_tasks');
    expect(githubSlug('IAM: who may do what')).toBe('iam-who-may-do-what');
    expect(githubSlug('1. Infrastructure: `scripts/setup`')).toBe('1-infrastructure-scriptssetup');
    expect(githubSlug('Public service, app-authenticated callbacks')).toBe(
      'public-service-app-authenticated-callbacks',
    );
    expect(githubSlug('web-v2 — the [same](x.md) quality')).toBe('web-v2--the-same-quality');
    const { anchors } = headingsOf('# A\n## Twice\n```sh\n# not a heading\n```\n## Twice\n');
    expect([...anchors]).toEqual(['a', 'twice', 'twice-1']);
  });

  it('reports each kind of broken reference in a scratch repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doc-refs-'));
    try {
      // Built at run time, so this file itself holds none of the references it plants.
      const doc = ['docs', 'a.md'].join('/');
      const sign = '\u00a7';
      await mkdir(join(dir, 'docs'));
      await mkdir(join(dir, 'src'));
      await writeFile(
        join(dir, doc),
        '# A\n\n## Who retries what\n\n## 1. Numbered\n\n```\n## Fenced\n```\n',
      );
      const lines = [
        `// ok: ${doc}#who-retries-what, ${doc}#1-numbered, ${doc}, "Who retries"`,
        `// ok: RFC 9110 ${sign}15.5, ${doc} ${sign}1, libvips issue 12 (https://github.com/libvips/libvips/issues/12)`,
        `// ${doc}#fenced`,
        `// ${doc}#whoretries`,
        `// ${['docs', 'b.md'].join('/')}#a`,
        `// ${doc}, "Nowhere"`,
        `// see ${sign}4`,
        `// ${'DESIGN'} ${sign}3.4`,
        `// ${'issue'} 8`,
      ];
      await writeFile(join(dir, 'src/x.ts'), `${lines.join('\n')}\n`);
      await writeFile(
        join(dir, 'README.md'),
        `[ok](${doc}#a) [gone](${doc}#gone) [none](none.md)\n`,
      );
      const { broken } = checkReferences(dir, ['src/x.ts', 'README.md']);
      expect(broken.map((b) => `${b.file}:${b.line} ${b.reason}`)).toEqual([
        `src/x.ts:3 ${doc} has no heading with the anchor #fenced`,
        `src/x.ts:4 ${doc} has no heading with the anchor #whoretries`,
        'src/x.ts:5 no file docs/b.md',
        `src/x.ts:6 ${doc} has no heading "Nowhere"`,
        `src/x.ts:7 a ${sign} that cites no external standard and no numbered heading of a named document; use docs/<file>.md#<anchor>`,
        `src/x.ts:8 a ${sign} that cites no external standard and no numbered heading of a named document; use docs/<file>.md#<anchor>`,
        'src/x.ts:8 the design document is not in the repository: use docs/architecture.md#<anchor>',
        'src/x.ts:9 issue numbers mean nothing to a cloner: state the decision itself',
        `README.md:1 ${doc} has no heading with the anchor #gone`,
        'README.md:1 no file none.md',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
