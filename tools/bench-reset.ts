/** Empties bench/results/latest.json before `npm run bench` runs every package's benchmark. */
import { resetFigures, resultsFile } from './bench-results.ts';

resetFigures();
console.log(`bench: starting a new ${resultsFile}`);
