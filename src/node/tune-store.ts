/**
 * The kernel tuner's table in a JSON file (src/tensor/autotune.ts keeps it in memory), and the environment
 * variables that steer kernel choice in the command-line programs and benchmarks:
 *
 *   WGPU_GAN_AUTOTUNE       auto (default: tune per shape on GPUs, not on CPU adapters) | on | off
 *   WGPU_GAN_AUTOTUNE_FILE  the table's file (default $XDG_CACHE_HOME/wgpu-gan/autotune.json, or ~/.cache/…);
 *                           "none" keeps it in memory only
 *   WGPU_GAN_CONV           force one conv version for every pass (register, register-tm8, …, tiled, tiled-m16)
 *   WGPU_GAN_MATMUL         force one matmul version (MATMUL_VERSIONS in src/tensor/matmul.ts: naive, register,
 *                           register-sg, tiled, tiled-128, tiled-vec4, …, each tuned one also with -splitk)
 *   WGPU_GAN_DAWN_POLL      how Dawn waits for the GPU: auto (default: timer on CPU adapters, spin on GPUs) | spin | timer
 *                           (see DawnPolling in src/tensor/gpu.ts)
 *   WGPU_GAN_LIMITS         which limits the device is asked for: adapter (default: its largest) | default
 *                           (WebGPU's default limits, what any adapter and browser grant; see DeviceLimits in gpu.ts)
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  setTuneMode,
  setTuneReporter,
  setTuneStore,
  TUNE_MODES,
  type TuneDocument,
  type TuneEvent,
  type TuneMode,
  type TuneStore,
} from '../tensor/autotune.ts';
import { CONV_VERSIONS, setConvVersion, type ConvVersion } from '../tensor/conv.ts';
import { MATMUL_VERSIONS, setMatmulVersion, type MatmulVersion } from '../tensor/matmul.ts';
import {
  DAWN_POLLING_MODES,
  DEVICE_LIMITS,
  setDawnPolling,
  setDeviceLimits,
  type DawnPolling,
  type DeviceLimits,
} from '../tensor/gpu.ts';
import { ensureDir, writeFileAtomic } from './files.ts';

/** A tuning table kept in a JSON file (written atomically; an unreadable file counts as empty). */
export function fileTuneStore(path: string): TuneStore {
  return {
    where: path,
    load(): unknown {
      if (!existsSync(path)) return null;
      return JSON.parse(readFileSync(path, 'utf8'));
    },
    save(doc: TuneDocument): boolean {
      try {
        ensureDir(dirname(path));
        writeFileAtomic(path, JSON.stringify(doc, null, 1) + '\n');
        return true;
      } catch (e) {
        // A table that cannot be saved only costs the next run its tuning again.
        console.error(`autotune: could not save the kernel table to ${path}: ${(e as Error).message}`);
        return false;
      }
    },
  };
}

/** The default table file: $XDG_CACHE_HOME/wgpu-gan/autotune.json, else ~/.cache/wgpu-gan/autotune.json. */
export function defaultTuneFile(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'wgpu-gan', 'autotune.json');
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`${name}="${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * Applies the WGPU_GAN_AUTOTUNE* / _CONV / _MATMUL / _DAWN_POLL / _LIMITS variables (see the file's header); throws an
 * Error naming the variable for a value it does not know. Returns what it set, for a log line.
 */
export function configureKernelsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  mode: TuneMode;
  file: string | null;
  conv: ConvVersion | null;
  matmul: MatmulVersion | null;
  poll: DawnPolling;
  limits: DeviceLimits;
} {
  const mode = oneOf<TuneMode>('WGPU_GAN_AUTOTUNE', env.WGPU_GAN_AUTOTUNE || 'auto', TUNE_MODES);
  const conv = env.WGPU_GAN_CONV ? oneOf('WGPU_GAN_CONV', env.WGPU_GAN_CONV, CONV_VERSIONS) : null;
  const matmul = env.WGPU_GAN_MATMUL ? oneOf('WGPU_GAN_MATMUL', env.WGPU_GAN_MATMUL, MATMUL_VERSIONS) : null;
  const poll = oneOf<DawnPolling>('WGPU_GAN_DAWN_POLL', env.WGPU_GAN_DAWN_POLL || 'auto', DAWN_POLLING_MODES);
  const limits = oneOf<DeviceLimits>('WGPU_GAN_LIMITS', env.WGPU_GAN_LIMITS || 'adapter', DEVICE_LIMITS);
  const fileVar = env.WGPU_GAN_AUTOTUNE_FILE;
  const file = fileVar === 'none' ? null : fileVar || defaultTuneFile(env);
  setTuneMode(mode);
  setTuneStore(file ? fileTuneStore(file) : null);
  setTuneReporter(tuneLine);
  setConvVersion(conv);
  setMatmulVersion(matmul);
  setDawnPolling(poll);
  setDeviceLimits(limits);
  return { mode, file, conv, matmul, poll, limits };
}

/** A line on stderr as a tuning starts and ends: a first run on a GPU spends seconds timing kernels, unsaid before. */
export function tuneLine(event: TuneEvent): void {
  const shapes = (n: number) => `${n} shape${n === 1 ? '' : 's'}`;
  process.stderr.write(
    event.phase === 'start'
      ? `timing kernel versions on this adapter for ${shapes(event.problems)}${event.store ? ' (once: the winners are kept)' : ''}…\n`
      : `timed kernel versions for ${shapes(event.tuned)} in ${event.seconds.toFixed(1)} s` +
          `${event.where ? `; the winners are kept in ${event.where}` : ''}\n`,
  );
}
