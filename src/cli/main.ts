/**
 * The command-line entry point: `tsx src/cli/main.ts <command> [options]` (npm scripts wrap it).
 * Every command answers --help. `--debug` anywhere prints the stack of an internal error.
 *
 * Exit codes: 0 done, 1 a runtime failure (one line; the stack with --debug), 2 a mistake in the options,
 * files or folders given (one line, never a stack), 130 interrupted (train saves first).
 */
import { isMainModule } from '../node/main-module.ts';
import { reportError, runProgram, setDebug } from './args.ts';

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  train: {
    help: "train a GAN: the lesson's dense GAN / DCGAN, a DCGAN on your own images, or a growing net (progan, msggan)",
    run: async (a) => (await import('./train.ts')).trainCommand(a),
  },
  sample: {
    help: 'write a sample grid or latent interpolation from a checkpoint',
    run: async (a) => (await import('./sample.ts')).sampleCommand(a),
  },
  eval: {
    help: 'score a checkpoint: class coverage, confident samples, Fréchet distance',
    run: async (a) => (await import('./eval.ts')).evalCommand(a),
  },
  style: { help: 'neural style transfer', run: async (a) => (await import('./style.ts')).styleCommand(a) },
  demo: {
    help: 'fit a function with an MLP (engine demo)',
    run: async (a) => (await import('./demo.ts')).demoCommand(a),
  },
};

function usage(): string {
  return `Usage: <command> [options] [--debug]   (each command has --help)\n\nCommands:\n${Object.entries(COMMANDS)
    .map(([n, c]) => `  ${n.padEnd(8)} ${c.help}`)
    .join(
      '\n',
    )}\n\n--debug prints the stack trace of an internal error (mistakes in the options print one line and exit 2).`;
}

/** Runs one command line (without the program name) and returns its exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  setDebug(debug);
  const [cmd, ...rest] = argv.filter((a) => a !== '--debug');
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 1;
  }
  const command = COMMANDS[cmd];
  if (!command) {
    console.error(`Unknown command "${cmd}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    return reportError(cmd, e);
  }
}

/** The environment's kernel settings (WGPU_GAN_AUTOTUNE, …; src/node/tune-store.ts), then the command. */
export function mainWithEnv(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runProgram(argv[0] ?? 'wgpu-gan', () => main(argv), env);
}

if (isMainModule(import.meta.url)) process.exitCode = await mainWithEnv(process.argv.slice(2));
