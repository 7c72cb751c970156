/**
 * A training process killed while it writes a checkpoint (SIGKILL between the temporary file and the rename, by
 * the WGPU_GAN_FAULT hook of src/node/files.ts) leaves the previous checkpoint whole and a stale temporary file;
 * `train --resume` continues from that checkpoint's step, removes the stale file and finishes the run, and the log
 * holds each step once.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.ts';

const root = resolve(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function train(out: string, extra: string[], env: Record<string, string> = {}) {
  return spawnSync(
    tsx,
    [
      join(root, 'src', 'cli', 'main.ts'),
      'train',
      ...['--model', 'dcgan', '--dataset', 'mnist', '--limit', '64', '--batch', '16', '--epochs', '2'],
      ...['--checkpoint-every', '1', '--grid', '2', '--out', out, ...extra],
    ],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 },
  );
}

/** The trainer's step recorded in a checkpoint's metadata. */
const stepOf = (bytes: Uint8Array) => JSON.parse(decodeSafetensors(bytes).metadata.meta!).step as number;

describe('a kill during a checkpoint write', () => {
  it('keeps the previous checkpoint; --resume continues from it, removes the stale temp and finishes', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'crash-')), 'run');
    // The third checkpoint write (after step 3) is killed before its rename.
    const killed = train(out, [], { WGPU_GAN_FAULT: 'kill-before-rename:checkpoint.safetensors:3' });
    // tsx runs the CLI in a child process and reports its SIGKILL as exit status 137 (128 + 9).
    expect(killed.signal === 'SIGKILL' || killed.status === 137, `${killed.status} ${killed.signal}`).toBe(true);
    const ckpt = join(out, 'checkpoint.safetensors');
    const before = new Uint8Array(readFileSync(ckpt));
    expect(stepOf(before)).toBe(2); // the last complete write
    const temps = readdirSync(out).filter((f) => f.startsWith('.checkpoint.safetensors.') && f.endsWith('.tmp'));
    expect(temps.length).toBe(1);

    const resumed = train(out, ['--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming at step 2');
    expect(stepOf(new Uint8Array(readFileSync(ckpt)))).toBe(8); // 2 epochs of 64 images in batches of 16
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const steps = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step as number);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // each of the 8 steps once (the log counts from 0)
  }, 300_000);
});
