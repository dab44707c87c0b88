/**
 * The bundle's entry: turns on V8's compile cache (Node ≥ 22.1) before the
 * processor's modules are loaded, so later tasks on the same machine or image
 * skip compiling them (the Dockerfile warms the cache at build time), then
 * runs main.ts. Failure to enable the cache is harmless and ignored by Node.
 */
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { main } = await import('./main.ts');
// Exit explicitly: keep-alive sockets and the GCS client's timers must not hold the task open.
process.exit(await main());
