/**
 * `npm run check-kernels [-- --quick]`: src/check/kernels.ts's check of every kernel version against float64 on this
 * machine's adapter, as a command (a markdown table on stdout; exit 1 when a check fails, 2 on a bad argument).
 * bench/device/run.sh runs it on a lent GPU machine before it times anything.
 */
import { checkKernels } from '../src/check/kernels.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { configureKernelsFromEnv } from '../src/node/tune-store.ts';

/** The command: --quick for the short list; exit 1 when a check fails. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length) {
    console.error(`check-kernels: unknown argument ${unknown.join(' ')} (usage: check-kernels.ts [--quick])`);
    return 2;
  }
  configureKernelsFromEnv();
  return (await checkKernels({ quick: argv.includes('--quick') })) ? 1 : 0;
}

if (isMainModule(import.meta.url)) process.exitCode = await main();
