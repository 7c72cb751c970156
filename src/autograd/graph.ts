/**
 * Reverse-mode automatic differentiation: the walker, the top layer of the engine
 * (engine ← tensor ← record ← ops ← graph; it needs the ops to sum gradients).
 *
 * Every differentiable op that sees an input with `requiresGrad` attaches a `GradNode` to its output
 * (`record`, ./record.ts): the inputs, and a function mapping the output's gradient to one gradient per
 * input. `backward()` walks the graph once in reverse topological order (found with an explicit stack, not
 * recursion, so deep graphs are fine), summing the gradients of tensors used more than once, and disposing
 * intermediate gradients as soon as they have been passed on.
 *
 * One shortcut, which a first reading can skip: a node's backward may be handed, per input, a gradient already
 * held for that input (`into`), and add its own into it in place instead of returning a new tensor for the walker
 * to add. Only the conv weight gradients take it (a weight used twice, as D's on the real and the fake batch, saves
 * an add and a buffer); every other op ignores `into`, and the result is the same either way. `owned` below keeps
 * track of which held gradients may be written in place (none that is also the upstream gradient or a view).
 */
import { Tensor } from '../tensor/tensor.ts';
import { add, clone } from '../tensor/ops.ts';
import { noGrad } from './record.ts';

export { noGrad, isGradEnabled, type GradNode } from './record.ts';

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
  if (!root.requiresGrad)
    throw new Error('backward(): the tensor does not require grad (no parameter or input with requiresGrad led to it)');
  if (!grad) {
    if (root.size !== 1)
      throw new Error(`backward(): a gradient must be given for a non-scalar tensor of shape [${root.shape}]`);
  } else if (grad.shape.join(',') !== root.shape.join(',')) {
    throw new Error(`backward(): gradient shape [${grad.shape}] does not match tensor shape [${root.shape}]`);
  }
  const order = reverseTopo(root);
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad ? clone(grad) : Tensor.fullLike(root, 1));
  // Gradients held in `grads` that nothing else refers to (not the upstream gradient passed through, not a view):
  // the ones a node may add into in place (GradNode.backward's `into`).
  const owned = new Set<Tensor>();
  try {
    // Gradient computation itself is not recorded.
    noGrad(() => {
      for (const t of order) {
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        owned.delete(g);
        const node = t.gradNode;
        if (!node) {
          // A leaf: hand the gradient over (it survives any tidy scope).
          accumulateGrad(t, g);
          continue;
        }
        const into = node.inputs.map((input) => {
          const held = grads.get(input);
          const once = node.inputs.indexOf(input) === node.inputs.lastIndexOf(input);
          return held && once && owned.has(held) ? held : null;
        });
        const inputGrads = node.backward(g, into);
        if (t.retainsGrad) accumulateGrad(t, g);
        else g.dispose();
        node.inputs.forEach((input, i) => {
          const ig = inputGrads[i];
          if (!ig || !input.requiresGrad) {
            if (ig !== into[i]) ig?.dispose();
            return;
          }
          if (ig.shape.join(',') !== input.shape.join(',')) {
            throw new Error(
              `Internal error: ${node.op} backward gave a gradient of shape [${ig.shape}] for an input of shape [${input.shape}]`,
            );
          }
          if (ig === into[i]) return; // the op added its gradient into the one held
          const prevG = grads.get(input);
          if (prevG) {
            const sum = add(prevG, ig);
            grads.set(input, sum);
            owned.delete(prevG);
            owned.add(sum);
            prevG.dispose();
            ig.dispose();
          } else {
            grads.set(input, ig);
            const alone = ig !== g && !ig.sharesStorage && inputGrads.indexOf(ig) === inputGrads.lastIndexOf(ig);
            if (alone) owned.add(ig);
          }
        });
      }
    });
  } finally {
    for (const g of grads.values()) g.dispose();
  }
}

/** Adds `g` to `t.grad`, taking ownership of `g` (kept: a gradient outlives tidy scopes). */
function accumulateGrad(t: Tensor, g: Tensor): void {
  g.keep();
  if (!t.grad) {
    t.grad = g;
    return;
  }
  const sum = add(t.grad, g).keep();
  t.grad.dispose();
  g.dispose();
  t.grad = sum;
}

// `loss.backward()` as a method, installed here, where the walker lives; src/tensor/index.ts imports this module.
declare module '../tensor/tensor.ts' {
  interface Tensor {
    /** Backpropagates from this tensor (see `backward`). */
    backward(grad?: Tensor): void;
  }
}
Tensor.prototype.backward = function (grad?: Tensor): void {
  backward(this, grad);
};
