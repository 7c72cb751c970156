/**
 * The growing nets' channel plan (src/gan/progan.ts channelPlan, MSG-GAN's half-and-half join in src/gan/msggan.ts):
 * the plan at every size, the default nets' parameter shapes at 32 and 64 px, their conv work against a count by
 * hand, and checkpoints: the spec records the plan (`stageWidths`), and one written under another plan (or before
 * the field existed) is refused on load with one line naming the file, before anything is written.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, noGrad } from '../src/tensor/index.ts';
import { convWork } from '../src/tensor/conv.ts';
import type { Module } from '../src/nn/index.ts';
import { channelPlan, stageChannels, type ProganDiscriminator, type ProganGenerator } from '../src/gan/progan.ts';
import type { MsgDiscriminator, MsgGenerator } from '../src/gan/msggan.ts';
import { ganSpec, buildGan, growingConfig, GROWING_WIDTH } from '../src/gan/models.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { CheckpointError } from '../src/nn/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors, type TensorToEncode } from '../src/io/safetensors.ts';
import { useEngine } from './helpers.ts';

useEngine();

const shapes = (m: Module, filter: RegExp) =>
  Object.fromEntries([...m.stateDict()].filter(([k]) => filter.test(k)).map(([k, t]) => [k, t.shape.join('x')]));

describe('the channel plan', () => {
  it('halves per stage from the 4×4 block (at most 8·width) to width at the last stage, at every size', () => {
    expect([1, 2, 3, 4, 5].map((K) => channelPlan(1, K))).toEqual([
      [2, 1],
      [4, 2, 1],
      [8, 4, 2, 1],
      [8, 8, 4, 2, 1],
      [8, 8, 8, 4, 2, 1],
    ]);
    expect(channelPlan(16, 4)).toEqual([128, 128, 64, 32, 16]);
    expect(stageChannels(24, 3, 1)).toBe(96);
  });

  it('the defaults: width 16 at every size, the plan recorded in the spec', () => {
    expect(GROWING_WIDTH).toBe(16);
    expect(ganSpec('progan')).toEqual({
      kind: 'progan',
      zDim: 128,
      channels: 3,
      size: 32,
      width: 16,
      stageWidths: [128, 64, 32, 16],
    });
    expect(ganSpec('msggan', { size: 64 }).stageWidths).toEqual([128, 128, 64, 32, 16]);
    expect(ganSpec('progan', { size: 8, width: 20 }).stageWidths).toEqual([40, 20]);
  });

  it('a spec whose stageWidths is not its plan is refused, naming the field', () => {
    const spec = ganSpec('progan', { size: 32 });
    expect(() => growingConfig({ ...spec, stageWidths: [128, 64, 32, 32] })).toThrow(
      'model progan: stageWidths [128,64,32,32] is not the channel plan of width 16 at 32 px, [128,64,32,16]',
    );
    expect(() => growingConfig({ ...spec, stageWidths: undefined })).toThrow(
      'model progan: stageWidths null is not the channel plan of width 16 at 32 px, [128,64,32,16]',
    );
    expect(growingConfig(spec).width).toBe(16);
  });
});

describe('the default nets', () => {
  it('progan at 32 px: G and D conv shapes follow [128, 64, 32, 16]', () => {
    const { G, D } = buildGan(ganSpec('progan', { size: 32 }), 1);
    expect(shapes(G, /conv\d\.weight|to_rgb\.\d\.weight/)).toEqual({
      'blocks.0.conv1.weight': '128x128x4x4',
      'blocks.0.conv2.weight': '128x128x3x3',
      'blocks.1.conv1.weight': '64x128x3x3',
      'blocks.1.conv2.weight': '64x64x3x3',
      'blocks.2.conv1.weight': '32x64x3x3',
      'blocks.2.conv2.weight': '32x32x3x3',
      'blocks.3.conv1.weight': '16x32x3x3',
      'blocks.3.conv2.weight': '16x16x3x3',
      'to_rgb.0.weight': '3x128x1x1',
      'to_rgb.1.weight': '3x64x1x1',
      'to_rgb.2.weight': '3x32x1x1',
      'to_rgb.3.weight': '3x16x1x1',
    });
    expect(shapes(D, /conv\d\.weight|from_rgb\.3\.weight|linear\.weight/)).toEqual({
      'from_rgb.3.weight': '16x3x1x1',
      'blocks.0.conv1.weight': '128x129x3x3',
      'blocks.0.conv2.weight': '128x128x4x4',
      'blocks.0.linear.weight': '1x128',
      'blocks.1.conv1.weight': '64x64x3x3',
      'blocks.1.conv2.weight': '128x64x3x3',
      'blocks.2.conv1.weight': '32x32x3x3',
      'blocks.2.conv2.weight': '64x32x3x3',
      'blocks.3.conv1.weight': '16x16x3x3',
      'blocks.3.conv2.weight': '32x16x3x3',
    });
    G.dispose();
    D.dispose();
  });

  it("msggan at 64 px: G as progan's; D's blocks take half their channels from above and half from the image", () => {
    const { G, D } = buildGan(ganSpec('msggan', { size: 64 }), 1);
    expect(shapes(G, /blocks\.[34]\.conv\d\.weight|to_rgb\.[04]\.weight/)).toEqual({
      'blocks.3.conv1.weight': '32x64x3x3',
      'blocks.3.conv2.weight': '32x32x3x3',
      'blocks.4.conv1.weight': '16x32x3x3',
      'blocks.4.conv2.weight': '16x16x3x3',
      'to_rgb.0.weight': '3x128x1x1',
      'to_rgb.4.weight': '3x16x1x1',
    });
    // plan [128, 128, 64, 32, 16]: block s ends in C_{s−1}/2, rgb_to_features.s gives C_s/2
    expect(shapes(D, /weight/)).toEqual({
      'from_rgb.weight': '16x3x1x1',
      'rgb_to_features.0.weight': '64x3x1x1',
      'rgb_to_features.1.weight': '64x3x1x1',
      'rgb_to_features.2.weight': '32x3x1x1',
      'rgb_to_features.3.weight': '16x3x1x1',
      'blocks.0.conv1.weight': '128x129x3x3',
      'blocks.0.conv2.weight': '128x128x4x4',
      'blocks.0.linear.weight': '1x128',
      'blocks.1.conv1.weight': '128x128x3x3',
      'blocks.1.conv2.weight': '64x128x3x3',
      'blocks.2.conv1.weight': '64x64x3x3',
      'blocks.2.conv2.weight': '64x64x3x3',
      'blocks.3.conv1.weight': '32x32x3x3',
      'blocks.3.conv2.weight': '32x32x3x3',
      'blocks.4.conv1.weight': '16x16x3x3',
      'blocks.4.conv2.weight': '16x16x3x3',
    });
    G.dispose();
    D.dispose();
  });
});

describe('conv work of the default 64 px nets, against a count by hand', () => {
  // Multiply-adds per image of each conv of a forward pass (Cout·Ho·Wo·Cin·kh·kw; a transposed conv as the conv it
  // is the transpose of), for the plan [128, 128, 64, 32, 16], zDim 128, RGB.
  // (blocks.0.conv1, the ConvT 4×4 of the 1×1 latent, runs as a matrix product: conv work does not count it)
  const G = [
    128 * 4 * 4 * 128 * 9, // blocks.0.conv2
    128 * 8 * 8 * 128 * 9 + 128 * 8 * 8 * 128 * 9, // blocks.1 at 8×8
    64 * 16 * 16 * 128 * 9 + 64 * 16 * 16 * 64 * 9, // blocks.2 at 16×16
    32 * 32 * 32 * 64 * 9 + 32 * 32 * 32 * 32 * 9, // blocks.3 at 32×32
    16 * 64 * 64 * 32 * 9 + 16 * 64 * 64 * 16 * 9, // blocks.4 at 64×64
    3 * 64 * 64 * 16, // to_rgb.4
  ];
  const dLast = 128 * 4 * 4 * 129 * 9 + 128 * 1 * 1 * 128 * 16; // blocks.0: 3×3 with the stddev channel, 4×4 valid
  const proD = [
    16 * 64 * 64 * 3, // from_rgb.4
    16 * 64 * 64 * 16 * 9 + 32 * 64 * 64 * 16 * 9, // blocks.4: 16 → 16 → 32, then pooled
    32 * 32 * 32 * 32 * 9 + 64 * 32 * 32 * 32 * 9,
    64 * 16 * 16 * 64 * 9 + 128 * 16 * 16 * 64 * 9,
    128 * 8 * 8 * 128 * 9 + 128 * 8 * 8 * 128 * 9,
    dLast,
  ];
  const msgD = [
    16 * 64 * 64 * 3, // from_rgb
    16 * 64 * 64 * 16 * 9 + 16 * 64 * 64 * 16 * 9, // blocks.4: 16 → 16 → 16 (C₃/2)
    16 * 32 * 32 * 3 + 32 * 32 * 32 * 32 * 9 + 32 * 32 * 32 * 32 * 9, // rgb_to_features.3, blocks.3: 32 → 32 → 32
    32 * 16 * 16 * 3 + 64 * 16 * 16 * 64 * 9 + 64 * 16 * 16 * 64 * 9,
    64 * 8 * 8 * 3 + 128 * 8 * 8 * 128 * 9 + 64 * 8 * 8 * 128 * 9, // blocks.1 ends in C₀/2 = 64
    64 * 4 * 4 * 3 + dLast,
  ];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const N = 2;
  let nets: {
    progan: { G: ProganGenerator; D: ProganDiscriminator };
    msggan: { G: MsgGenerator; D: MsgDiscriminator };
  };
  beforeAll(() => {
    const p = buildGan(ganSpec('progan', { size: 64 }), 1);
    const m = buildGan(ganSpec('msggan', { size: 64 }), 1);
    nets = {
      progan: p as unknown as (typeof nets)['progan'],
      msggan: m as unknown as (typeof nets)['msggan'],
    };
    nets.progan.G.setGrowth(4, 1);
    nets.progan.D.setGrowth(4, 1);
  });
  const work = (f: () => Tensor) => {
    convWork.flops = 0;
    noGrad(f).dispose();
    return convWork.flops;
  };

  it('G (progan at its last stage and msggan, every scale): the same count', () => {
    const z = Tensor.randn([N, 128, 1, 1], { seed: 1 });
    const toRgbBelow = 3 * 4 * 4 * 128 + 3 * 8 * 8 * 128 + 3 * 16 * 16 * 64 + 3 * 32 * 32 * 32; // msggan's other scales
    expect(work(() => nets.progan.G.forward(z))).toBe(2 * N * sum(G));
    expect(work(() => nets.msggan.G.forward(z))).toBe(2 * N * (sum(G) + toRgbBelow));
    z.dispose();
  });

  it("D: progan's at its last stage; msggan's, whose join does not widen its blocks, less", () => {
    const x = Tensor.randn([N, 3, 64, 64], { seed: 2 });
    expect(work(() => nets.progan.D.forward(x))).toBe(2 * N * sum(proD));
    expect(work(() => nets.msggan.D.forward(x))).toBe(2 * N * sum(msgD));
    x.dispose();
  });
});

describe('checkpoints and the plan', () => {
  const FILE = '/runs/x/checkpoint.safetensors';
  const spec = ganSpec('msggan', { size: 8, width: 8, zDim: 8 });
  let bytes: Uint8Array;
  beforeAll(async () => {
    const tr = new GanTrainer(spec, { batchSize: 4, seed: 3, loss: 'rahinge' });
    await tr.readStats(tr.trainBatch(new Float32Array(4 * 3 * 8 * 8).fill(0.25)));
    bytes = await tr.saveCheckpoint();
    tr.dispose();
  });
  const editModel = (f: (m: Record<string, unknown>) => void) => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const t: Record<string, TensorToEncode> = {};
    for (const [k, v] of tensors) t[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
    const meta = JSON.parse(metadata.meta);
    f(meta.model);
    return encodeSafetensors(t, { ...metadata, meta: JSON.stringify(meta) });
  };
  /** Loads into a fresh trainer of the spec: the error's message (a CheckpointError) or 'loaded'; G's first weight kept. */
  async function load(b: Uint8Array): Promise<string> {
    const tr = new GanTrainer(spec, { batchSize: 4, seed: 5, loss: 'rahinge' });
    const w = tr.G.stateEntries()[0].tensor;
    const before = await w.toArray();
    try {
      tr.loadCheckpoint(b, FILE);
      return 'loaded';
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      expect(await w.toArray()).toEqual(before); // nothing written
      return (e as Error).message;
    } finally {
      tr.dispose();
    }
  }

  it('the meta records the plan and a checkpoint of it loads', async () => {
    const { metadata } = decodeSafetensors(bytes);
    expect(JSON.parse(metadata.meta).model.stageWidths).toEqual([16, 8]);
    expect(await load(bytes)).toBe('loaded');
  });

  it('one written before the plan was recorded, or under another plan, is refused in one line naming the file', async () => {
    const want = '{"channels":3,"kind":"msggan","size":8,"stageWidths":[16,8],"width":8,"zDim":8}';
    const old = await load(editModel((m) => delete m.stageWidths));
    expect(old).toBe(
      `loadCheckpoint: ${FILE}: checkpoint is for model {"channels":3,"kind":"msggan","size":8,"width":8,"zDim":8}, not ${want}`,
    );
    const other = await load(editModel((m) => (m.stageWidths = [8, 8])));
    expect(other).toBe(
      `loadCheckpoint: ${FILE}: checkpoint is for model {"channels":3,"kind":"msggan","size":8,"stageWidths":[8,8],"width":8,"zDim":8}, not ${want}`,
    );
    expect(old.split('\n')).toHaveLength(1);
  });
});
