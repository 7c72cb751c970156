/**
 * The import rules of src/ (scripts/check-structure.ts): no cycle, the engine's layers import only downwards,
 * and no module calls a Tensor method installed by a module it does not import.
 */
import { describe, it, expect } from 'vitest';
import { checkStructure, LAYERS } from '../scripts/check-structure.ts';

describe('src/ structure', () => {
  it('has no import cycle, no upward import between engine layers, no unimported prototype patching', () => {
    expect(checkStructure()).toEqual([]);
  }, 60_000);

  it('keeps the engine at the bottom: engine.ts sits below tensor, record, ops and the walker', () => {
    expect(LAYERS['tensor/engine.ts']).toBeLessThan(LAYERS['tensor/tensor.ts']);
    expect(LAYERS['tensor/tensor.ts']).toBeLessThan(LAYERS['autograd/record.ts']);
    expect(LAYERS['autograd/record.ts']).toBeLessThan(LAYERS['tensor/ops.ts']);
    expect(LAYERS['tensor/ops.ts']).toBeLessThan(LAYERS['autograd/graph.ts']);
    expect(LAYERS['tensor/autotune.ts']).toBeLessThan(LAYERS['tensor/init.ts']);
  });
});
