/**
 * Test-only entry of the processor: main.ts with the fault switches of
 * faults.ts (`PROCESSOR_FAULT`, `STORAGE_FAULTS`). The fault suite
 * (e2e/faults), the pipeline's SIGKILL test and the processor's fault tests
 * name it explicitly; it runs from source (`node src/main-with-faults.ts`).
 * Production runs entry.ts, bundled into dist/processor.mjs, which never loads
 * this file: the bundle holds no fault code (test/bundle.test.ts).
 */
import { coerceError, createLogger } from '@slideshow/runtime';
import { faultHooks } from './faults.ts';
import { main } from './main.ts';
import { EXIT_CODES } from './run.ts';

let hooks: ReturnType<typeof faultHooks>;
try {
  hooks = faultHooks(process.env);
} catch (thrown) {
  const error = coerceError(thrown);
  createLogger().error('invalid configuration', { error, code: error.code });
  process.exit(EXIT_CODES.config);
}
process.exit(await main(hooks));
