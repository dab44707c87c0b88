/** Prints every figure recorded by this `npm run bench` run. */
import { formatFigures, readFigures, resultsFile } from './bench-results.ts';

const figures = readFigures();
console.log(`\nBenchmark figures (${resultsFile}):\n`);
console.log(formatFigures(figures));
