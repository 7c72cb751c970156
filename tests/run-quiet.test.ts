// scripts/run-quiet.mjs: the wrapper the npm scripts start programs through, which drops Dawn's two start-up
// warnings from standard error and passes everything else, the exit code and signals through.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const WRAPPER = 'scripts/run-quiet.mjs';
const UNIFORM =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';
const STORAGE =
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node -e script` (optionally through the wrapper); `onStdout` sees stdout as it arrives. */
function runNode(
  script: string,
  opts: { wrapped?: boolean; onStdout?: (text: string, pid: number) => void } = {},
): Promise<Run> {
  const args = opts.wrapped === false ? ['-e', script] : [WRAPPER, process.execPath, '-e', script];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      opts.onStdout?.(stdout, child.pid!);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('run-quiet', () => {
  it('drops exactly the two Dawn lines and keeps the rest, in order, with the exit code', async () => {
    const lines = [UNIFORM, 'first', STORAGE, `Warning: ${UNIFORM.slice(9)} (not alone)`, 'Warning: other', 'last'];
    const script = `
      for (const l of ${JSON.stringify(lines)}) process.stderr.write(l + '\\n');
      process.stdout.write('out\\n');
      process.exitCode = 3;`;
    const r = await runNode(script);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe(`first\nWarning: ${UNIFORM.slice(9)} (not alone)\nWarning: other\nlast\n`);
  });

  it('drops a warning that arrives in pieces and keeps unfinished lines such as a progress bar', async () => {
    const script = `
      const pieces = [${JSON.stringify(UNIFORM.slice(0, 12))}, ${JSON.stringify(UNIFORM.slice(12, 70))},
        ${JSON.stringify(UNIFORM.slice(70) + '\n' + STORAGE.slice(0, 30))}, ${JSON.stringify(STORAGE.slice(30) + '\n')},
        '\\rstep 1/2', '\\rstep 2/2', '\\nWarning: maxDynamicStor'];
      let i = 0;
      const next = () => { if (i < pieces.length) { process.stderr.write(pieces[i++]); setTimeout(next, 30); } };
      next();`;
    const r = await runNode(script);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('\rstep 1/2\rstep 2/2\nWarning: maxDynamicStor');
  });

  it('passes SIGINT to the program, which may finish its work and exit normally', async () => {
    const script = `
      process.on('SIGINT', () => { process.stdout.write('saved\\n'); process.exit(0); });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);`;
    let sent = false;
    const r = await runNode(script, {
      onStdout: (text, pid) => {
        if (!sent && text.includes('ready')) {
          sent = true;
          process.kill(pid, 'SIGINT');
        }
      },
    });
    expect(r.stdout).toBe('ready\nsaved\n');
    expect(r.code).toBe(0);
  });

  it('dies by the signal that killed the program', async () => {
    const r = await runNode(`process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000);`);
    expect(r.signal).toBe('SIGTERM');
  });

  it('removes what Dawn really prints on this adapter, if it prints it', async () => {
    const script = `
      import('webgpu').then(async (m) => {
        Object.assign(globalThis, m.globals);
        const adapter = await m.create([]).requestAdapter();
        process.stdout.write(adapter ? 'adapter\\n' : 'none\\n');
        process.exit(0);
      });`;
    const [raw, quiet] = [await runNode(script, { wrapped: false }), await runNode(script)];
    expect(raw.stdout).toBe('adapter\n');
    expect(quiet.stdout).toBe('adapter\n');
    // What Dawn says unwrapped on this adapter (the two lines on lavapipe, maybe nothing elsewhere), less those two.
    const kept = raw.stderr.split('\n').filter((l) => l !== UNIFORM && l !== STORAGE);
    expect(quiet.stderr).toBe(kept.join('\n'));
  });
});
