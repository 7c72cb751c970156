// Prints the WebGPU adapter Dawn finds in this environment (used by scripts/setup.sh as a check).
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]); // kept referenced until exit: Dawn tears down its instance when this object is collected
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('No WebGPU adapter. VK_ICD_FILENAMES=' + (process.env.VK_ICD_FILENAMES ?? '(unset)'));
  process.exit(1);
}
const i = adapter.info;
console.log(
  `[setup] WebGPU adapter: ${i.vendor} / ${i.architecture} / ${i.description || i.device} (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`,
);
globalThis.__keep = gpu;
