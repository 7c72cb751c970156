/** The CLI tests' harness: a command line run through the dispatcher, with console and the streams captured. */
import { vi } from 'vitest';
import { main } from '../src/cli/main.ts';
import { setDeviceLimits } from '../src/tensor/gpu.ts';
import { testLimits } from './helpers.ts';

// The files that run the CLI in-process start their engine through it: with the limits the tests ask for
// (WGPU_GAN_LIMITS=default runs them on WebGPU's default limits too, as useEngine() does).
setDeviceLimits(testLimits());

export interface Outcome {
  code: number;
  err: string[];
  out: string[];
}

/** Runs `main(argv)` with console and the standard streams captured. */
export async function runCli(argv: string[]): Promise<Outcome> {
  const err: string[] = [];
  const out: string[] = [];
  const spies = [
    vi.spyOn(console, 'error').mockImplementation((...m) => void err.push(m.map(String).join(' '))),
    vi.spyOn(console, 'warn').mockImplementation((...m) => void err.push(m.map(String).join(' '))),
    vi.spyOn(console, 'log').mockImplementation((...m) => void out.push(m.map(String).join(' '))),
    vi.spyOn(process.stderr, 'write').mockImplementation((m) => (err.push(String(m)), true)),
    vi.spyOn(process.stdout, 'write').mockImplementation((m) => (out.push(String(m)), true)),
  ];
  try {
    return { code: await main(argv), err, out };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}
