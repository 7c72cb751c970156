/**
 * Issue 18, items 1 and 4: a checkpoint is checked before it is trusted (metadata schema, dtypes, finite values)
 * and a diverged training state is never written over the last good checkpoint.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from '../src/tensor/index.ts';
import { engine } from '../src/tensor/engine.ts';
import { GanTrainer, checkpointSpec, checkGanSpec, largestWeight, SPEC_LIMITS } from '../src/gan/trainer.ts';
import { ganSpec, buildGan } from '../src/gan/models.ts';
import { NonFiniteStateError, CheckpointError, loadCheckpoint, shortJson } from '../src/nn/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors, type TensorToEncode } from '../src/io/safetensors.ts';
import { trainCommand } from '../src/cli/train.ts';
import { sampleCommand } from '../src/cli/sample.ts';
import { evalCommand } from '../src/cli/eval.ts';
import { useEngine } from './helpers.ts';

useEngine();

const FILE = '/runs/x/checkpoint.safetensors';

/** Decodes a checkpoint, lets `edit` change its tensors and metadata, encodes it again. */
function rewrite(
  bytes: Uint8Array,
  edit: (t: Record<string, TensorToEncode>, meta: Record<string, string>) => void,
): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const t: Record<string, TensorToEncode> = {};
  for (const [k, v] of tensors) t[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
  const meta = { ...metadata };
  edit(t, meta);
  return encodeSafetensors(t, meta);
}
const editMeta = (bytes: Uint8Array, f: (m: Record<string, unknown>) => void) =>
  rewrite(bytes, (_, md) => {
    const m = JSON.parse(md.meta);
    f(m);
    md.meta = JSON.stringify(m);
  });

let good: Uint8Array;
let firstWeight: string;
beforeAll(async () => {
  const tr = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 3 });
  tr.trainBatch(new Float32Array(4 * 28 * 28).fill(0.5)).stats.dispose();
  good = await tr.saveCheckpoint({ dataset: 'mnist' });
  firstWeight = `G.${tr.G.stateEntries()[0].key}`;
  tr.dispose();
});

/** loadCheckpoint into a fresh dense trainer; returns the error message or 'loaded'. */
function loadError(bytes: Uint8Array): string {
  const tr = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 3 });
  try {
    tr.loadCheckpoint(bytes, FILE);
    return 'loaded';
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  } finally {
    tr.dispose();
  }
}

describe('checkpoint metadata is checked before anything is allocated', () => {
  it('a good checkpoint loads', () => {
    expect(loadError(good)).toBe('loaded');
    expect(checkpointSpec(good, FILE).spec).toEqual(ganSpec('dense'));
  });

  const specCases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    [
      'huge zDim',
      (m) => ((m.model as Record<string, unknown>).zDim = 9e12),
      /meta\.model\.zDim must be an integer in \[1, 4096\], got 9000000000000/,
    ],
    ['fractional zDim', (m) => ((m.model as Record<string, unknown>).zDim = 2.5), /meta\.model\.zDim/],
    [
      'huge width',
      (m) => (m.model = { ...ganSpec('dcgan32'), width: 1e9 }),
      /meta\.model\.width must be an integer in \[1, 512\]/,
    ],
    [
      'wrong size',
      (m) => ((m.model as Record<string, unknown>).size = 64),
      /meta\.model\.size must be 28 for dense, got 64/,
    ],
    ['unknown kind', (m) => ((m.model as Record<string, unknown>).kind = 'vae'), /meta\.model\.kind must be one of/],
    ['no model', (m) => delete m.model, /meta\.model must be the GAN's model description/],
    ['step "abc"', (m) => (m.step = 'abc'), /meta\.step must be a non-negative integer .*got "abc"/],
    ['step -5', (m) => (m.step = -5), /meta\.step must be a non-negative integer .*got -5/],
    ['step 1e300', (m) => (m.step = 1e300), /meta\.step must be a non-negative integer/],
    ['epoch 0.5', (m) => (m.epoch = 0.5), /meta\.epoch must be a non-negative integer/],
    [
      'option not a number',
      (m) => ((m.options as Record<string, unknown>).lrG = 'fast'),
      /meta\.options\.lrG must be a finite number, got "fast"/,
    ],
    [
      'option out of range',
      (m) => ((m.options as Record<string, unknown>).batchSize = 1),
      /meta\.options: Invalid training option batchSize=1/,
    ],
  ];
  for (const [what, edit, msg] of specCases) {
    it(`refuses ${what}, naming the file and the field`, () => {
      const bytes = editMeta(good, edit);
      const before = engine().stats().inUseBytes;
      expect(() => checkpointSpec(bytes, FILE)).toThrow(msg);
      expect(() => checkpointSpec(bytes, FILE)).toThrow(FILE);
      expect(engine().stats().inUseBytes).toBe(before); // nothing allocated
    });
  }

  it('bounds the largest weight a spec asks for (counted as the nets are built)', () => {
    const specs = [
      ganSpec('dense', { zDim: 7 }),
      ganSpec('dcgan', { zDim: 300 }),
      ganSpec('dcgan32', { zDim: 5, width: 16, channels: 1 }),
      ganSpec('dcgan64', { zDim: 200, width: 8 }),
      ganSpec('progan', { size: 16, width: 8 }),
      ganSpec('msggan', { size: 16, width: 8 }),
      ganSpec('msggan', { size: 32, width: 4, zDim: 3 }),
    ];
    for (const spec of specs) {
      const { G, D } = buildGan(spec, 1);
      const sizes = [...G.stateEntries(), ...D.stateEntries()].map((e) => e.tensor.size);
      expect(largestWeight(spec), spec.kind).toBe(Math.max(...sizes));
      G.dispose();
      D.dispose();
    }
    const big = editMeta(good, (m) => (m.model = { ...ganSpec('dcgan64'), width: 512 }));
    expect(() => checkpointSpec(big, FILE)).toThrow(
      `checkpoint ${FILE}: meta.model.width gives a weight of ${4096 * 2048 * 16} values (zDim 100, width 512), more than the ${SPEC_LIMITS.weightValues} one buffer may hold, got 512`,
    );
  });

  it('refuses a small file whose meta claims a model larger than it, before anything is allocated', () => {
    // the dense checkpoint's meta says dcgan64 at width 128: its largest weight, 1024→512 channels k4, alone is
    // 1024×512×16 floats (32 MiB), where the file has a few kilobytes
    const big = editMeta(good, (m) => (m.model = { ...ganSpec('dcgan64'), width: 128 }));
    const largest = 1024 * 512 * 16;
    expect(largestWeight(checkGanSpec({ ...ganSpec('dcgan64'), width: 128 }))).toBe(largest);
    expect(big.length).toBeLessThan(largest * 4);
    const before = engine().stats().inUseBytes;
    expect(() => checkpointSpec(big, FILE)).toThrow(
      `checkpoint ${FILE}: meta.model describes a dcgan64 of width 128 model whose largest weight alone is ${largest} float32 values (${largest * 4} bytes), more than the file's ${big.length} bytes: the file is not that model's checkpoint`,
    );
    expect(engine().stats().inUseBytes).toBe(before);
    // the same claim in a file large enough passes this check (and fails later, on its tensors)
    const padded = editMeta(good, (m) => {
      m.model = { ...ganSpec('dcgan64'), width: 128 };
      m.pad = 'x'.repeat(largest * 4);
    });
    expect(() => checkpointSpec(padded, FILE)).not.toThrow();
  });

  it('refuses meta "null" (was: TypeError reading null) and a meta list', () => {
    for (const m of ['null', '[1]', '3']) {
      const bytes = rewrite(good, (_, md) => (md.meta = m));
      expect(() => checkpointSpec(bytes, FILE)).toThrow(
        `loadCheckpoint: ${FILE}: metadata field "meta" must be a JSON object, got ${m}`,
      );
    }
  });

  it('refuses step "abc" on load too (was: resumed at step NaN)', () => {
    expect(loadError(editMeta(good, (m) => (m.step = 'abc')))).toMatch(
      new RegExp(`^loadCheckpoint: ${FILE}: meta\\.step must be a non-negative integer`),
    );
  });
});

describe('a progan checkpoint: its recorded growth must be what its step gives', () => {
  let progan: Uint8Array;
  beforeAll(async () => {
    const tr = new GanTrainer(ganSpec('progan', { size: 8, width: 8 }), { batchSize: 4, growImages: 8, seed: 3 });
    for (let i = 0; i < 4; i++) await tr.readStats(tr.trainBatch(new Float32Array(4 * 3 * 8 * 8).fill(0.25)));
    progan = await tr.saveCheckpoint();
    tr.dispose();
  });

  it('a good one passes; missing, malformed or another schedule (was: ignored) is refused naming the field', () => {
    expect(checkpointSpec(progan, FILE).meta.growth).toEqual({ stage: 1, alpha: 0.5 });
    const want = `meta\\.growth must be the stage and α of its step \\({"stage":1,"alpha":0\\.5} at step 4, batch 4, growImages 8\\)`;
    const cases: [(m: Record<string, unknown>) => void, string][] = [
      [(m) => delete m.growth, `${want}, got undefined`],
      [(m) => (m.growth = 'x'), `${want}, got "x"`],
      [(m) => (m.growth = { stage: 9, alpha: 1 }), `${want}, got {"stage":9,"alpha":1}`],
      [(m) => (m.growth = { stage: 1, alpha: 0.25 }), `${want}, got {"stage":1,"alpha":0.25}`],
      [(m) => (m.growth = { stage: 1, alpha: 0.5, extra: 1 }), `${want}, got {"stage":1,"alpha":0.5,"extra":1}`],
    ];
    for (const [edit, msg] of cases)
      expect(() => checkpointSpec(editMeta(progan, edit), FILE)).toThrow(new RegExp(`^checkpoint ${FILE}: ${msg}$`));
    // the options it was trained with changed under it: growImages 16 puts step 4 in stage 0
    expect(() =>
      checkpointSpec(
        editMeta(progan, (m) => ((m.options as Record<string, unknown>).growImages = 16)),
        FILE,
      ),
    ).toThrow(
      /meta\.growth must be the stage and α of its step \({"stage":0,"alpha":1} at step 4, batch 4, growImages 16\)/,
    );
  });
});

describe('tensors are checked before they are loaded', () => {
  it('refuses F32 weights declared I32 or U32 (was: loaded as integer bit patterns)', () => {
    for (const dtype of ['I32', 'U32'] as const) {
      const bytes = rewrite(good, (t) => {
        const w = t[firstWeight];
        const raw = new Float32Array(w.data as Float32Array);
        t[firstWeight] = {
          dtype,
          shape: w.shape,
          data: dtype === 'I32' ? new Int32Array(raw.buffer) : new Uint32Array(raw.buffer),
        };
      });
      expect(loadError(bytes)).toBe(`loadCheckpoint: ${FILE}: tensor ${firstWeight} has dtype ${dtype}, expected F32`);
    }
  });

  it('refuses an Adam step that is NaN, −1 or 1e300', () => {
    for (const step of [NaN, -1, 1e300, 2.5]) {
      const bytes = rewrite(
        good,
        (t) => (t['optG.state.0.step'] = { dtype: 'F64', shape: [], data: Float64Array.of(step) }),
      );
      const msg = loadError(bytes);
      expect(msg).toContain(FILE);
      if (Number.isNaN(step))
        // the scan for non-finite values comes first
        expect(msg).toContain('tensor optG.state.0.step holds 1 non-finite value (first: NaN)');
      else {
        expect(msg).toContain(`optimizer optG: Adam.loadStateDict: state.0.step must be a non-negative integer`);
        expect(msg).toContain(`got ${step}`);
      }
    }
  });

  it('describes any metadata value in one short line: Infinity as itself, a list nested past the stack', () => {
    expect(shortJson(Infinity)).toBe('Infinity');
    expect(shortJson(-Infinity)).toBe('-Infinity');
    expect(shortJson({ a: 1 })).toBe('{"a":1}');
    expect(shortJson('x'.repeat(100))).toBe(`"${'x'.repeat(76)}...`);
    let deep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(shortJson(deep)).toBe('a deeply nested list');
  });

  it("takes the betas from the run's options, not from optimizers that disagree with them", () => {
    const bytes = rewrite(good, (t) => (t['optG.param_groups.0.betas'].data = Float64Array.of(0.9, 0.99)));
    const tr = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 3 });
    try {
      tr.loadCheckpoint(bytes, FILE);
      expect(tr.optG.betas).toEqual([tr.opts.beta1, tr.opts.beta2]);
      expect(tr.optG.betas).toEqual([0.5, 0.999]);
    } finally {
      tr.dispose();
    }
  });

  it('refuses Adam hyperparameters out of range before anything is loaded (was: exit 1 from inside the load)', () => {
    const cases: [string, (t: Record<string, TensorToEncode>) => void, RegExp][] = [
      [
        'betas [1.5, 0.999]',
        (t) => (t['optG.param_groups.0.betas'].data = Float64Array.of(1.5, 0.999)),
        /optimizer optG: Adam\.loadStateDict: betas must be in \[0, 1\), got \[1\.5,0\.999\]$/,
      ],
      [
        'three betas',
        (t) => (t['optG.param_groups.0.betas'] = { dtype: 'F64', shape: [3], data: Float64Array.of(0.5, 0.9, 0.99) }),
        /optimizer optG: Adam\.loadStateDict: param_groups\.0\.betas must hold 2 numbers, got \[0\.5,0\.9,0\.99\]$/,
      ],
      [
        'eps −1',
        (t) => (t['optD.param_groups.0.eps'].data = Float64Array.of(-1)),
        /optimizer optD: Adam\.loadStateDict: invalid eps -1$/,
      ],
      [
        'lr −1',
        (t) => (t['optD.param_groups.0.lr'].data = Float64Array.of(-1)),
        /optimizer optD: Adam\.loadStateDict: invalid lr -1$/,
      ],
      [
        'weight decay −0.5',
        (t) => (t['optG.param_groups.0.weight_decay'].data = Float64Array.of(-0.5)),
        /optimizer optG: Adam\.loadStateDict: invalid weightDecay -0\.5$/,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      const msg = loadError(rewrite(good, edit));
      expect(msg, what).toMatch(new RegExp(`^loadCheckpoint: ${FILE}: `));
      expect(msg, what).toMatch(expected);
    }
  });

  it('refuses an Adam eps or weight decay the trainer has no option for (was: trained on with them, unseen)', () => {
    const cases: [string, (t: Record<string, TensorToEncode>) => void, RegExp][] = [
      [
        'weight decay 1e30',
        (t) => (t['optG.param_groups.0.weight_decay'].data = Float64Array.of(1e30)),
        /optimizer optG: Adam\.loadStateDict: param_groups\.0\.weight_decay is 1e\+30; this Adam runs with 0, which a state dict does not change$/,
      ],
      [
        'eps 1e-4',
        (t) => (t['optD.param_groups.0.eps'].data = Float64Array.of(1e-4)),
        /optimizer optD: Adam\.loadStateDict: param_groups\.0\.eps is 0\.0001; this Adam runs with 1e-8, which a state dict does not change$/,
      ],
      [
        // near the trainer's, but another float32: another setting
        'eps 2e-8',
        (t) => (t['optD.param_groups.0.eps'].data = Float64Array.of(2e-8)),
        /optimizer optD: Adam\.loadStateDict: param_groups\.0\.eps is 2e-8; this Adam runs with 1e-8, which a state dict does not change$/,
      ],
    ];
    for (const [what, edit, expected] of cases) expect(loadError(rewrite(good, edit)), what).toMatch(expected);
    // the same eps stored as float32 (9.99999993922529e-9) is the trainer's setting: it loads
    const f32 = rewrite(good, (t) => {
      const eps = t['optG.param_groups.0.eps']!;
      t['optG.param_groups.0.eps'] = { dtype: 'F32', shape: eps.shape, data: Float32Array.of(1e-8) };
    });
    expect(loadError(f32)).toBe('loaded');
  });

  it('refuses one Inf weight, a NaN moment and a NaN learning rate, naming the tensor', () => {
    const cases: [string, (t: Record<string, TensorToEncode>) => void, string][] = [
      [firstWeight, (t) => ((t[firstWeight].data as Float32Array)[5] = Infinity), 'first: Infinity'],
      ['optD.state.1.exp_avg_sq', (t) => ((t['optD.state.1.exp_avg_sq'].data as Float32Array)[0] = NaN), 'first: NaN'],
      ['optG.param_groups.0.lr', (t) => (t['optG.param_groups.0.lr'].data = Float64Array.of(NaN)), 'first: NaN'],
    ];
    for (const [name, edit, first] of cases) {
      const msg = loadError(rewrite(good, edit));
      expect(msg).toMatch(
        new RegExp(
          `^loadCheckpoint: ${FILE}: tensor ${name.replace(/\./g, '\\.')} holds 1 non-finite value \\(${first}\\)`,
        ),
      );
    }
  });

  it('refuses a negative running variance or Adam second moment, naming the tensor (was: NaN samples, saved again on resume)', () => {
    let rv = '';
    const bytes = rewrite(good, (t) => {
      rv = Object.keys(t).find((k) => k.endsWith('.running_var'))!;
      (t[rv].data as Float32Array)[1] = -0.5;
    });
    expect(rv).not.toBe('');
    expect(loadError(bytes)).toMatch(
      new RegExp(
        `^loadCheckpoint: ${FILE}: tensor ${rv.replace(/\./g, '\\.')} holds 1 negative value \\(first: -0\\.5\\)`,
      ),
    );
    const moment = loadError(rewrite(good, (t) => ((t['optD.state.1.exp_avg_sq'].data as Float32Array)[0] = -1e-3)));
    expect(moment).toMatch(/tensor optD\.state\.1\.exp_avg_sq holds 1 negative value \(first: -0\.001/);
  });

  it('refuses before changing anything: the trainer keeps its weights', async () => {
    const tr = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 3 });
    const w = tr.G.stateEntries()[0].tensor;
    const before = await w.toArray();
    const bad = rewrite(good, (t) => ((t[firstWeight].data as Float32Array)[0] = -Infinity));
    expect(() => tr.loadCheckpoint(bad, FILE)).toThrow(firstWeight);
    expect(await w.toArray()).toEqual(before);
    expect(() => loadCheckpoint(bad, { G: tr.G })).toThrow(`loadCheckpoint: tensor ${firstWeight} holds 1 non-finite`);
    tr.dispose();
  });
});

describe('a diverged state is never saved', () => {
  it('saveCheckpoint refuses an Inf weight or a NaN running variance, naming it (one launch for the check)', async () => {
    const tr = new GanTrainer(ganSpec('dcgan'), { batchSize: 4, seed: 3 });
    const bn = tr.D.stateEntries().find((e) => e.key.endsWith('running_var'))!;
    bn.tensor.assign(Float32Array.from({ length: bn.tensor.size }, (_, i) => (i === 2 ? NaN : 1)));
    await expect(tr.saveCheckpoint()).rejects.toThrow(
      new RegExp(
        `^saveCheckpoint: D\\.${bn.key.replace(/\./g, '\\.')} holds 1 non-finite value \\(NaN/Inf\\) of ${bn.tensor.size}`,
      ),
    );
    await expect(tr.saveCheckpoint()).rejects.toBeInstanceOf(NonFiniteStateError);
    bn.tensor.assign(new Float32Array(bn.tensor.size).fill(1));
    await engine().sync();
    const s0 = engine().stats();
    await tr.saveCheckpoint();
    expect(engine().stats().dispatches - s0.dispatches).toBe(1);
    tr.dispose();
  });
});

describe('the CLI refuses poisoned checkpoints and does not write one', () => {
  const silence = async <T>(f: () => Promise<T>): Promise<{ value?: T; error?: Error; stderr: string }> => {
    const [log, err, write] = [console.log, console.error, process.stderr.write];
    let stderr = '';
    console.log = () => {};
    console.error = (...a: unknown[]) => void (stderr += a.join(' ') + '\n');
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      return { value: await f(), stderr };
    } catch (e) {
      return { error: e as Error, stderr };
    } finally {
      console.log = log;
      console.error = err;
      process.stderr.write = write;
    }
  };
  const base = ['--model', 'dcgan', '--dataset', 'mnist', '--limit', '32', '--batch', '16', '--grid', '4'];

  it("the issue's run (--lr-d 1e12 --lr-g 1e12, checkpoint every step): exits 1 naming the tensor, no checkpoint", async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-lr-'));
    const r = await silence(() =>
      trainCommand([
        ...base,
        '--epochs',
        '3',
        '--checkpoint-every',
        '1',
        '--lr-d',
        '1e12',
        '--lr-g',
        '1e12',
        '--out',
        out,
      ]),
    );
    expect(r.error).toBeUndefined();
    expect(r.value).toBe(1);
    expect(r.stderr).toMatch(
      /^Stopped: saveCheckpoint: [GD]\.main\.\d+\.\w+ holds \d+ non-finite values? .*\(none written yet\)/m,
    );
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
  }, 240_000);

  // The same divergence from a resumed run, reached by resuming from weights of 1e25: the conv outputs' batch variance overflows to Inf in
  // BatchNorm's running statistics while the normalised outputs (and so the losses) stay finite.
  it('a diverged state: exits 1 naming the non-finite tensor, the last good checkpoint byte-identical', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-nan-'));
    const ckpt = join(out, 'checkpoint.safetensors');
    expect((await silence(() => trainCommand([...base, '--epochs', '1', '--out', out]))).value).toBe(0);
    const blown = rewrite(readFileSync(ckpt), (t) => {
      const w = t['D.main.0.weight'].data as Float32Array;
      for (let i = 0; i < w.length; i++) w[i] *= 1e25;
    });
    writeFileSync(ckpt, blown);
    const resumed = await silence(() =>
      trainCommand([...base, '--epochs', '3', '--checkpoint-every', '1', '--out', out, '--resume']),
    );
    expect(resumed.error).toBeUndefined();
    expect(resumed.value).toBe(1);
    expect(resumed.stderr).toMatch(
      /^Stopped: saveCheckpoint: D\.main\.\d+\.running_var holds \d+ non-finite values? \(NaN\/Inf\) of \d+: the training state has diverged; not writing a checkpoint\. The last good checkpoint is /m,
    );
    expect(readFileSync(ckpt).equals(blown)).toBe(true);
  }, 240_000);

  it('resume, sample and eval refuse a checkpoint with one Inf weight, naming the tensor and the file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-inf-'));
    const ckpt = join(out, 'checkpoint.safetensors');
    const tr = new GanTrainer(ganSpec('dense'), { batchSize: 16, seed: 1 });
    const ok = await tr.saveCheckpoint({ dataset: 'mnist' });
    tr.dispose();
    writeFileSync(
      ckpt,
      rewrite(ok, (t) => ((t[firstWeight].data as Float32Array)[0] = Infinity)),
    );
    const expected = `${ckpt}: tensor ${firstWeight} holds 1 non-finite value`;
    const runs = {
      resume: () =>
        trainCommand([
          '--model',
          'dense',
          '--dataset',
          'mnist',
          '--limit',
          '32',
          '--batch',
          '16',
          '--out',
          out,
          '--resume',
        ]),
      sample: () => sampleCommand(['--checkpoint', ckpt, '--out', join(out, 'x.png'), '--n', '4']),
      eval: () => evalCommand(['--checkpoint', ckpt, '--n', '10']),
    };
    for (const [what, run] of Object.entries(runs)) {
      const r = await silence(run);
      expect(r.error?.message ?? r.stderr, what).toContain(expected);
      expect(r.error?.name, what).toBe('InputError'); // the dispatcher prints it as one line, exit 2
    }
    expect(existsSync(join(out, 'x.png'))).toBe(false);
  }, 120_000);
});
