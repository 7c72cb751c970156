/**
 * Worker thread of readKerasH5 (src/node/style-weights.ts): reads the conv layers of a Keras VGG weights file
 * with h5wasm, one request at a time, and posts back arrays or an error description.
 *
 * HDF5 runs here, not on the main thread, because a damaged file can make it loop forever inside one
 * synchronous WASM call (a global-heap object whose size byte is 0xff does); only a worker can be stopped then.
 * HDF5's diagnostics ("HDF5-DIAG: Error detected …", which h5wasm's Node build writes to file descriptor 2
 * with fs.writeSync) and the module's "Aborted(…)" line are collected and sent back instead of printed.
 * Plain JavaScript so that it loads in a worker under tsx, vitest and plain Node alike.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

let diagnostics = '';
const decoder = new TextDecoder();
const originalWriteSync = fs.writeSync;
fs.writeSync = function (fd, buffer, ...rest) {
  if (fd !== 2) return originalWriteSync.call(fs, fd, buffer, ...rest);
  if (typeof buffer === 'string') {
    diagnostics += buffer;
    return Buffer.byteLength(buffer);
  }
  const offset = rest[0] ?? 0;
  const length = rest[1] ?? buffer.byteLength - offset;
  diagnostics += decoder.decode(new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length));
  return length;
};
const keepStderr = (chunk) => {
  diagnostics += typeof chunk === 'string' ? chunk : decoder.decode(chunk);
  return true;
};
process.stderr.write = keepStderr;
console.error = (...args) => keepStderr(args.join(' ') + '\n');

const h5 = (await import('h5wasm/node')).default;
await h5.ready;

class LayoutError extends Error {}

function attrStrings(g, name) {
  if (!(name in g.attrs)) return null;
  const v = g.get_attribute(name, true);
  const list = Array.isArray(v) ? v : [v];
  return list.map((s) => (typeof s === 'string' ? s : decoder.decode(s))).filter((s) => s.length > 0);
}

function datasetsUnder(g, prefix, out = []) {
  for (const k of g.keys()) {
    const e = g.get(k);
    if (e instanceof h5.Dataset) out.push([`${prefix}/${k}`, e]);
    else if (e instanceof h5.Group) datasetsUnder(e, `${prefix}/${k}`, out);
  }
  return out;
}

function readArray(d, where) {
  const shape = d.shape ?? [];
  const value = d.value;
  if (!(value instanceof Float32Array || value instanceof Float64Array)) {
    throw new LayoutError(`${where}: expected float32/float64 data, got dtype ${JSON.stringify(d.dtype)}`);
  }
  return { shape, data: value };
}

function readLayers(path, names, where) {
  const file = new h5.File(path, 'r');
  if (file.file_id === undefined || file.file_id === null || Number(file.file_id) < 0) {
    const err = new Error('HDF5 could not open it');
    err.kind = 'notopen';
    throw err;
  }
  try {
    let root = file;
    const nested = file.get('model_weights');
    if (nested instanceof h5.Group) root = nested;
    const layers = [];
    for (const name of names) {
      const g = root.get(name);
      if (!(g instanceof h5.Group)) continue;
      const at = `${where}, layer ${name}`;
      const weightNames = attrStrings(g, 'weight_names');
      let found;
      if (weightNames && weightNames.length) {
        found = weightNames.map((wn) => {
          const d = g.get(wn);
          if (!(d instanceof h5.Dataset))
            throw new LayoutError(`${at}: weight_names lists ${wn}, which is not a dataset in the file`);
          return [`${name}/${wn}`, d];
        });
      } else found = datasetsUnder(g, name);
      const kernels = found.filter(([, d]) => (d.shape ?? []).length === 4);
      const biases = found.filter(([, d]) => (d.shape ?? []).length === 1);
      if (kernels.length !== 1 || biases.length !== 1) {
        const list = found.map(([p, d]) => `${p} [${(d.shape ?? []).join(', ')}]`).join(', ');
        throw new LayoutError(`${at}: expected one 4-D kernel and one 1-D bias, found ${list || 'no datasets'}`);
      }
      layers.push([
        name,
        {
          kernel: readArray(kernels[0][1], `${at} (${kernels[0][0]})`),
          bias: readArray(biases[0][1], `${at} (${biases[0][0]})`),
        },
      ]);
    }
    return layers;
  } finally {
    try {
      file.close();
    } catch {
      // Closing a half-read file can fail too; the error that matters is the one already thrown.
    }
  }
}

parentPort.on('message', ({ id, path, names, where }) => {
  diagnostics = '';
  try {
    const layers = readLayers(path, names, where);
    const transfer = [];
    for (const [, { kernel, bias }] of layers) transfer.push(kernel.data.buffer, bias.data.buffer);
    try {
      parentPort.postMessage({ id, layers }, [...new Set(transfer)]);
    } catch {
      parentPort.postMessage({ id, layers }); // a buffer that cannot be transferred is copied
    }
  } catch (err) {
    const kind =
      err instanceof LayoutError
        ? 'layout'
        : err?.kind === 'notopen'
          ? 'notopen'
          : err instanceof WebAssembly.RuntimeError
            ? 'abort'
            : 'other';
    parentPort.postMessage({ id, error: { kind, message: String(err?.message ?? err), diagnostics } });
  }
});
parentPort.postMessage({ ready: true });
