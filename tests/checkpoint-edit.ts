/** Test helper: rewrites a checkpoint file with its JSON metadata (`meta`) edited, as a hostile or older file. */
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeSafetensors, encodeSafetensors, type TensorToEncode } from '../src/io/safetensors.ts';

/** Applies `edit` to the checkpoint's `meta` object and writes the file again (tensors unchanged). */
export function editCheckpointMeta(path: string, edit: (meta: Record<string, unknown>) => void): void {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const t: Record<string, TensorToEncode> = {};
  for (const [k, v] of tensors) t[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
  const meta = JSON.parse(metadata.meta ?? '{}') as Record<string, unknown>;
  edit(meta);
  writeFileSync(path, encodeSafetensors(t, { ...metadata, meta: JSON.stringify(meta) }));
}

/** Applies `edit` to the checkpoint's tensors (by key) and writes the file again (metadata unchanged). */
export function editCheckpointTensors(path: string, edit: (tensors: Record<string, TensorToEncode>) => void): void {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const t: Record<string, TensorToEncode> = {};
  for (const [k, v] of tensors) t[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
  edit(t);
  writeFileSync(path, encodeSafetensors(t, metadata));
}

/** Applies `edit` to the text of the checkpoint's `meta` field (for JSON that JSON.stringify could not write). */
export function editCheckpointMetaText(path: string, edit: (text: string) => string): void {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const t: Record<string, TensorToEncode> = {};
  for (const [k, v] of tensors) t[k] = { dtype: v.dtype, shape: v.shape, data: v.data };
  writeFileSync(path, encodeSafetensors(t, { ...metadata, meta: edit(metadata.meta ?? '{}') }));
}
