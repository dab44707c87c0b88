/**
 * What the imaging benchmark (imaging.bench.ts) reports: the measured results
 * of one image, the figures recorded in bench/results, the per-image Markdown
 * table of docs/performance.md and the corpus-wide summary figures.
 */
import type { Figure } from '@slideshow/tools/bench-results';
import type { OutputFormat } from '../src/index.ts';
import type { FormatChoice } from '../src/quality-search.ts';
import type { CorpusImage } from './corpus.ts';

/** The median of `values` (0 for none). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The mean of `values` (NaN for none). */
export const mean = (values: number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;

/** Per-format quality of one preset's variants. */
export interface FormatQuality {
  ssimulacra2: number[];
  ssim: number[];
  butteraugli: number | undefined;
}

/** Per-format quality of one preset's variants, by format. */
export type Quality = Map<OutputFormat, FormatQuality>;

/** The measured results of one corpus image, [baseline, candidate]. */
export interface ImageResult {
  image: CorpusImage;
  megapixels: number;
  wall: [number, number];
  cpu: [number, number];
  bytes: [number, number];
  quality: [Quality, Quality];
  choices: FormatChoice[];
}

/** How each format is named in the log. */
export const FORMAT_LABEL: Record<OutputFormat, string> = {
  avif: 'AVIF',
  webp: 'WebP',
  jpeg: 'JPEG',
  png: 'PNG',
};

/** The figures of one image: wall, CPU and bytes against the baseline, and each format's quality. */
export function figuresFor(r: ImageResult): Figure[] {
  const name = `imaging.${r.image.name}`;
  const timeRatio = r.wall[1] / r.wall[0];
  const figures: Figure[] = [
    {
      name: `${name}.wall`,
      value: r.wall[1],
      unit: 'ms',
      baseline: r.wall[0],
      target: null,
      met: null,
    },
    {
      name: `${name}.wall_ratio`,
      value: timeRatio,
      unit: 'x',
      baseline: 1,
      target: '<= 0.5x',
      met: timeRatio <= 0.5,
    },
    {
      name: `${name}.cpu`,
      value: r.cpu[1],
      unit: 'ms',
      baseline: r.cpu[0],
      target: null,
      met: null,
    },
    {
      name: `${name}.bytes`,
      value: r.bytes[1],
      unit: 'B',
      baseline: r.bytes[0],
      target: '<= baseline',
      met: r.bytes[1] <= r.bytes[0],
    },
  ];
  for (const [format, q] of r.quality[1]) {
    const base = r.quality[0].get(format);
    const value = mean(q.ssimulacra2);
    const baseline = base ? mean(base.ssimulacra2) : Number.NaN;
    figures.push(
      {
        name: `${name}.${format}.ssimulacra2`,
        value,
        unit: 'ssimulacra2',
        baseline,
        target: '>= baseline',
        met: value >= baseline,
      },
      {
        name: `${name}.${format}.ssim`,
        value: mean(q.ssim),
        unit: 'ssim',
        baseline: base ? mean(base.ssim) : null,
        target: null,
        met: null,
      },
    );
    if (q.butteraugli !== undefined) {
      figures.push({
        name: `${name}.${format}.butteraugli`,
        value: q.butteraugli,
        unit: 'butteraugli',
        baseline: base?.butteraugli ?? null,
        target: null,
        met: null,
      });
    }
  }
  return figures;
}

/** The per-image table of docs/performance.md, as Markdown. */
export function markdownTable(results: ImageResult[]): string {
  const head =
    '| image | MP | wall v1 → v3 | ratio | CPU v1 → v3 | bytes v1 → v3 | AVIF | WebP | JPEG / PNG | met |';
  const rows = results.map((r) => {
    const fmt = (f: OutputFormat): string => {
      const a = r.quality[0].get(f);
      const b = r.quality[1].get(f);
      return a && b ? `${mean(a.ssimulacra2).toFixed(2)} → ${mean(b.ssimulacra2).toFixed(2)}` : '';
    };
    const fallback = r.quality[1].has('png') ? 'png' : 'jpeg';
    const met = figuresFor(r)
      .filter((f) => f.met !== null)
      .every((f) => f.met);
    const s = (ms: number): string => (ms / 1000).toFixed(2);
    return `| ${r.image.name} (${r.image.source}) | ${r.megapixels.toFixed(1)} | ${s(r.wall[0])} → ${s(r.wall[1])} s | ${(r.wall[1] / r.wall[0]).toFixed(2)}× | ${s(r.cpu[0])} → ${s(r.cpu[1])} s | ${r.bytes[0].toLocaleString('en')} → ${r.bytes[1].toLocaleString('en')} (${((r.bytes[1] / r.bytes[0] - 1) * 100).toFixed(1)} %) | ${fmt('avif')} | ${fmt('webp')} | ${fmt(fallback)} | ${met ? 'yes' : 'no'} |`;
  });
  return [head, `|${' --- |'.repeat(10)}`, ...rows].join('\n');
}

/** Corpus-wide figures: the median wall ratio and CPU-seconds per source megapixel. */
export function corpusFigures(results: ImageResult[]): Figure[] {
  if (results.length === 0) return [];
  const figures: Figure[] = [];
  const ratios = results.map((r) => r.wall[1] / r.wall[0]);
  const medianRatio = median(ratios);
  figures.push({
    name: 'imaging.corpus.wall_ratio_median',
    value: medianRatio,
    unit: 'x',
    baseline: 1,
    target: '<= 0.5x',
    met: medianRatio <= 0.5,
  });
  // Cost basis: CPU-seconds per source megapixel over the whole corpus.
  const mp = results.reduce((s, r) => s + r.megapixels, 0);
  const cpu = (i: 0 | 1): number => results.reduce((s, r) => s + r.cpu[i], 0) / 1000 / mp;
  figures.push({
    name: 'imaging.corpus.cpu_seconds_per_mp',
    value: cpu(1),
    unit: 'CPU-s/MP',
    baseline: cpu(0),
    target: null,
    met: null,
  });
  return figures;
}

/** The one-minute load average at the start and the end of the run. */
export function loadFigures(loadStart: number[], loadEnd: number[]): Figure[] {
  return [
    {
      name: 'imaging.load_average.start',
      value: loadStart[0] ?? 0,
      unit: 'load',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'imaging.load_average.end',
      value: loadEnd[0] ?? 0,
      unit: 'load',
      baseline: null,
      target: null,
      met: null,
    },
  ];
}

/** The candidate's SSIMULACRA 2 of each format per width, beside the baseline's, as log lines. */
export function perWidthLines(results: ImageResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    for (const [format, q] of r.quality[1]) {
      lines.push(
        `${r.image.name} ${FORMAT_LABEL[format]} per width: ${q.ssimulacra2.map((s) => s.toFixed(1)).join(' / ')} (v1 ${r.quality[0]
          .get(format)
          ?.ssimulacra2.map((s) => s.toFixed(1))
          .join(' / ')})`,
      );
    }
  }
  return lines;
}
