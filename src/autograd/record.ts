/**
 * Recording the graph: grad mode, and `record`, which every differentiable op calls on its output.
 *
 * An op that sees an input with `requiresGrad` (while grad mode is on) attaches a `GradNode` to its output:
 * the inputs, and a function mapping the output's gradient to one gradient per input. The walker that runs
 * those functions is `backward` in ./graph.ts, one layer up (it needs the ops to sum gradients).
 */
import type { GradNode, Tensor } from '../tensor/tensor.ts';

export type { GradNode };

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording any graph (inference, optimizer updates, metrics, the backward pass itself). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches a backward function to an op's output when any input needs a gradient and grad mode is on. */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradNode = { op, inputs, backward };
  }
  return out;
}
