/**
 * The loss points a checkpoint carries (meta.lossHistory, src/gan/loss-history.ts): the format, its checks against
 * hostile values, and `train` keeping them — from a checkpoint of its own or one saved by the web page.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLossHistory, encodeLossHistory, joinLossHistory, MAX_SAVED_POINTS } from '../src/gan/loss-history.ts';
import { checkpointSpec, type StepStats } from '../src/gan/trainer.ts';
import { CheckpointError } from '../src/nn/checkpoint.ts';
import { runCli } from './cli-run.ts';
import { editCheckpointMeta } from './checkpoint-edit.ts';
import { useEngine } from './helpers.ts';

useEngine();

const point = (step: number, lossD: number, lossG: number, dSkipped = false, gStepped = true): StepStats => ({
  step,
  lossD: dSkipped ? NaN : lossD,
  lossG: gStepped ? lossG : NaN,
  dReal: dSkipped ? NaN : 0.5 + step / 8,
  dFake: dSkipped ? NaN : 0.25 - step / 16,
  dSkipped,
  gStepped,
});

describe('meta.lossHistory', () => {
  const points = [point(0, 1.4, 0.7), point(1, 1.3, 0, false, false), point(2, 0, 0.9, true), point(4, 1.1, 0.8)];

  it('round-trips through JSON: columns, null for a half that did not run, the flags read back', () => {
    const encoded = encodeLossHistory(points);
    expect(encoded).toEqual({
      step: [0, 1, 2, 4],
      lossD: [1.4, 1.3, null, 1.1],
      lossG: [0.7, null, 0.9, 0.8],
      dReal: [0.5, 0.625, null, 1],
      dFake: [0.25, 0.1875, null, 0],
    });
    const decoded = decodeLossHistory(JSON.parse(JSON.stringify(encoded)), 5, 'x.safetensors');
    expect(decoded).toEqual(points);
    // an older checkpoint without the field has no points
    expect(decodeLossHistory(undefined, 5, 'x.safetensors')).toEqual([]);
  });

  it('keeps the latest MAX_SAVED_POINTS points', () => {
    const many = Array.from({ length: MAX_SAVED_POINTS + 3 }, (_, i) => point(i, 1, 1));
    const encoded = encodeLossHistory(many);
    expect(encoded.step.length).toBe(MAX_SAVED_POINTS);
    expect([encoded.step[0], encoded.step.at(-1)]).toEqual([3, MAX_SAVED_POINTS + 2]);
  });

  it('refuses hostile values with one line naming the file and the field', () => {
    const good = () => JSON.parse(JSON.stringify(encodeLossHistory(points))) as Record<string, unknown[]>;
    const cases: [string, (v: Record<string, unknown[]>) => unknown][] = [
      [
        'meta.lossHistory must be an object of columns (step, lossD, lossG, dReal, dFake), got an array of 2',
        () => [1, 2],
      ],
      ['meta.lossHistory must be an object of columns (step, lossD, lossG, dReal, dFake), got "many"', () => 'many'],
      ['meta.lossHistory.step must be an array of steps, got {"0":1}', (v) => ({ ...v, step: { 0: 1 } })],
      ['meta.lossHistory.lossG must be an array, got undefined', (v) => ({ ...v, lossG: undefined })],
      ['meta.lossHistory.dFake has 3 values, but .step has 4', (v) => ({ ...v, dFake: v.dFake!.slice(1) })],
      ['meta.lossHistory.lossD[1] must be a finite number or null, got "1.3"', (v) => ((v.lossD![1] = '1.3'), v)],
      ['meta.lossHistory.dReal[0] must be a finite number or null, got Infinity', (v) => ((v.dReal![0] = 1e999), v)],
      [
        'meta.lossHistory.step[2] must be a step count (a non-negative integer), got 2.5',
        (v) => ((v.step![2] = 2.5), v),
      ],
      ['meta.lossHistory.step[0] must be a step count (a non-negative integer), got -1', (v) => ((v.step![0] = -1), v)],
      ["meta.lossHistory.step[3] is 2, not after the previous point's step 2", (v) => ((v.step![3] = 2), v)],
      ["meta.lossHistory.step[3] is 4, not before the checkpoint's step 4", (v) => v],
    ];
    for (const [message, edit] of cases) {
      const step = message.includes("checkpoint's step 4") ? 4 : 5;
      let error: unknown = null;
      try {
        decodeLossHistory(edit(good()), step, 'run/x.safetensors');
      } catch (e) {
        error = e;
      }
      expect(error, message).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toBe(`checkpoint run/x.safetensors: ${message}`);
    }
    // a huge history is refused by its length, before any value is read
    const huge = { step: new Array(MAX_SAVED_POINTS + 1), lossD: [], lossG: [], dReal: [], dFake: [] };
    expect(() => decodeLossHistory(huge, 10, 'big.safetensors')).toThrow(
      `checkpoint big.safetensors: meta.lossHistory holds ${MAX_SAVED_POINTS + 1} points; a checkpoint carries at most ${MAX_SAVED_POINTS}`,
    );
  });

  it("joins a checkpoint's points and a later log: the log's steps win from its first on", () => {
    const saved = [point(0, 1, 1), point(1, 2, 2), point(2, 3, 3)];
    const log = [point(1, 9, 9), point(2, 8, 8), point(3, 7, 7)];
    expect(joinLossHistory(saved, log)).toEqual([saved[0], ...log]);
    expect(joinLossHistory(saved, [])).toEqual(saved);
    expect(joinLossHistory([], log)).toEqual(log);
  });
});

describe('train keeps the loss history in its checkpoints', () => {
  const args = ['train', '--model', 'dense', '--dataset', 'mnist', '--limit', '32', '--batch', '8', '--seed', '2'];
  const quick = ['--grid', '4', '--final-eval', 'false', '--epochs', '4'];
  const history = (path: string) => checkpointSpec(new Uint8Array(readFileSync(path))).meta.lossHistory;
  const logLines = (dir: string) =>
    readFileSync(join(dir, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StepStats);
  /** A log's points as the checkpoint's columns hold them (JSON writes NaN as null, as the log does). */
  const columns = (lines: StepStats[]) => JSON.parse(JSON.stringify(encodeLossHistory(lines)));

  it('writes every step, keeps them on --resume, and continues a checkpoint that has no log beside it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'history-'));
    const ckpt = join(out, 'checkpoint.safetensors');
    expect((await runCli([...args, ...quick, '--out', out, '--max-steps', '3'])).code).toBe(0);
    expect(history(ckpt)).toEqual(columns(logLines(out)));
    expect((history(ckpt) as { step: number[] }).step).toEqual([0, 1, 2]);

    // As a checkpoint saved by the web page arrives: in a folder of its own, no log.jsonl.
    const page = mkdtempSync(join(tmpdir(), 'history-page-'));
    copyFileSync(ckpt, join(page, 'checkpoint.safetensors'));
    expect((await runCli([...args, ...quick, '--out', page, '--max-steps', '5', '--resume'])).code).toBe(0);
    expect(logLines(page).map((s) => s.step)).toEqual([3, 4]); // the folder's log holds its own steps
    expect(history(join(page, 'checkpoint.safetensors'))).toEqual(
      columns([...logLines(out), ...logLines(page)]), // the chart: the checkpoint's 3 points, then 2 more
    );

    // Resuming the first folder: its log and the checkpoint agree; the checkpoint keeps all 5.
    expect((await runCli([...args, ...quick, '--out', out, '--max-steps', '5', '--resume'])).code).toBe(0);
    expect(history(ckpt)).toEqual(columns(logLines(out)));
    expect((history(ckpt) as { step: number[] }).step).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a checkpoint with a damaged loss history, naming the file, before writing anything', async () => {
    const out = mkdtempSync(join(tmpdir(), 'history-bad-'));
    const ckpt = join(out, 'checkpoint.safetensors');
    expect((await runCli([...args, ...quick, '--out', out, '--max-steps', '2'])).code).toBe(0);
    editCheckpointMeta(ckpt, (m) => {
      (m.lossHistory as { lossG: unknown[] }).lossG.pop();
    });
    const files = readdirSync(out).sort();
    const bytes = readFileSync(ckpt);
    const r = await runCli([...args, ...quick, '--out', out, '--max-steps', '4', '--resume']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain(`checkpoint ${ckpt}: meta.lossHistory.lossG has 1 value, but .step has 2`);
    expect(readdirSync(out).sort()).toEqual(files);
    expect(readFileSync(ckpt).equals(bytes)).toBe(true);
  });
});
