/**
 * Reverse-mode automatic differentiation.
 *
 * Every differentiable op that sees an input with `requiresGrad` attaches a `GradNode` to its output: the
 * inputs, and a function mapping the output's gradient to one gradient per input. `backward()` walks the
 * graph once in reverse topological order (found with an explicit stack, not recursion, so deep graphs
 * are fine), summing the gradients of tensors used more than once, and disposing intermediate gradients as
 * soon as they have been passed on.
 */
import type { Tensor } from '../tensor/tensor.ts';

export interface GradNode {
  /** Name of the op, for error messages and debugging. */
  op: string;
  inputs: Tensor[];
  /** Gradient of the loss w.r.t. each input (null: that input needs none), given the output's gradient. */
  backward: (grad: Tensor) => (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording any graph (inference, optimizer updates, metrics). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Reverse topological order of the graph above `root`: root first, leaves last. */
function reverseTopo(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative post-order DFS: each stack entry is (tensor, index of the next input to visit).
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradNode?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * Backpropagates from `root`. Leaves (tensors with requiresGrad and no GradNode) receive `.grad`, added to
 * any gradient they already hold. `grad` defaults to 1 for a scalar root.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require grad (no parameter or input with requiresGrad led to it)');
  if (!grad) {
    if (root.size !== 1) throw new Error(`backward(): a gradient must be given for a non-scalar tensor of shape [${root.shape}]`);
  } else if (grad.shape.join(',') !== root.shape.join(',')) {
    throw new Error(`backward(): gradient shape [${grad.shape}] does not match tensor shape [${root.shape}]`);
  }
  const order = reverseTopo(root);
  const grads = new Map<Tensor, Tensor>();
  const Ctor = root.constructor as typeof Tensor;
  grads.set(root, grad ? grad.clone() : Ctor.fullLike(root, 1));
  // Gradient computation itself must not be recorded.
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.gradNode;
      if (!node) {
        // A leaf: hand the gradient over (it survives any tidy scope).
        t.accumulateGrad(g);
        continue;
      }
      const inputGrads = node.backward(g);
      if (t.retainsGrad) t.accumulateGrad(g);
      else g.dispose();
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i];
        if (!ig || !input.requiresGrad) {
          ig?.dispose();
          return;
        }
        if (ig.shape.join(',') !== input.shape.join(',')) {
          throw new Error(`Internal error: ${node.op} backward gave a gradient of shape [${ig.shape}] for an input of shape [${input.shape}]`);
        }
        const prevG = grads.get(input);
        if (prevG) {
          grads.set(input, prevG.add(ig));
          prevG.dispose();
          ig.dispose();
        } else grads.set(input, ig);
      });
    }
  } finally {
    gradEnabled = prev;
    for (const g of grads.values()) g.dispose();
  }
}
