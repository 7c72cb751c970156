#!/usr/bin/env node
/**
 * Runs a command with Dawn's two start-up warnings removed from its standard error, everything else passed
 * through unchanged: `node scripts/run-quiet.mjs tsx src/cli/main.ts train …` (the npm scripts do this).
 *
 * On lavapipe, every adapter request prints
 *   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
 *   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
 * Dawn writes them from native code while it enumerates the adapter, before any limit can be requested, and has no
 * switch to silence them: the driver reports 10⁶ dynamic buffers and Dawn caps the limit at 16 (we use none). A
 * Node program cannot redirect its own file descriptor 2, so the filter runs here, around the program.
 *
 * Exactly those two lines are dropped (matched whole, with any numbers); any other output, a partial line
 * included, is written at once. The child's exit code is returned; a child killed by a signal kills this process
 * with the same signal. SIGINT, SIGTERM and SIGHUP are passed on (the trainer saves and stops on SIGINT; a
 * second one from the terminal's process group changes nothing). When this process's standard error is a
 * terminal, WGPU_GAN_STDERR_TTY=1 and its width tell the program it may draw progress bars in place.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const DAWN_WARNING =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;

/**
 * A stream filter: feed it chunks, it returns what to print now. Whole lines are checked against DAWN_WARNING;
 * the unfinished tail is held back only while it could still become one of those lines (so a progress bar drawn
 * with '\r' and no newline is printed at once).
 */
export function dawnWarningFilter() {
  let held = '';
  const prefix = 'Warning: maxDynamic';
  return (chunk) => {
    const text = held + chunk;
    held = '';
    const lines = text.split('\n');
    const tail = lines.pop();
    let out = '';
    for (const line of lines) if (!DAWN_WARNING.test(line)) out += line + '\n';
    const couldBeWarning =
      tail.length > 0 && (prefix.startsWith(tail) || (tail.startsWith(prefix) && tail.length < 200));
    if (couldBeWarning) held = tail;
    else out += tail;
    return out;
  };
}

function main(argv) {
  if (argv.length === 0) {
    process.stderr.write('usage: node scripts/run-quiet.mjs COMMAND [ARGS…]\n');
    process.exit(2);
  }
  const env = { ...process.env };
  if (process.stderr.isTTY) {
    env.WGPU_GAN_STDERR_TTY = '1';
    env.WGPU_GAN_STDERR_COLUMNS = String(process.stderr.columns || 100);
  }
  const child = spawn(argv[0], argv.slice(1), { stdio: ['inherit', 'inherit', 'pipe'], env });
  const filter = dawnWarningFilter();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const out = filter(chunk);
    if (out) process.stderr.write(out);
  });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward(signal));
  child.on('error', (e) => {
    process.stderr.write(`run-quiet: cannot start ${argv[0]}: ${e.message}\n`);
    process.exit(127);
  });
  child.on('close', (code, signal) => {
    const rest = filter('\n');
    if (rest !== '\n') process.stderr.write(rest.slice(0, -1));
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exitCode = code ?? 1;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
