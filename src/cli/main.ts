/**
 * The command-line entry point: `tsx src/cli/main.ts <command> [options]` (npm scripts wrap it).
 * Every command answers --help.
 */
import { trainCommand, sampleCommand, UsageError } from './gan.ts';

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  train: { help: 'train a GAN (lesson dense GAN / DCGAN, or DCGAN on your own images)', run: trainCommand },
  sample: { help: 'write a sample grid or latent interpolation from a checkpoint', run: sampleCommand },
  eval: {
    help: 'score a checkpoint: class coverage, confident samples, Fréchet distance',
    run: async (a) => (await import('./eval.ts')).evalCommand(a),
  },
  style: { help: 'neural style transfer', run: async (a) => (await import('./style.ts')).styleCommand(a) },
  demo: {
    help: 'fit a function with an MLP (engine demo)',
    run: async () => {
      await import('./demo.ts');
      return 0;
    },
  },
};

function usage(): string {
  return `Usage: <command> [options]   (each command has --help)\n\nCommands:\n${Object.entries(COMMANDS)
    .map(([n, c]) => `  ${n.padEnd(8)} ${c.help}`)
    .join('\n')}`;
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
  console.log(usage());
  process.exit(cmd ? 0 : 1);
}
const command = COMMANDS[cmd];
if (!command) {
  console.error(`Unknown command "${cmd}".\n${usage()}`);
  process.exit(2);
}
try {
  process.exitCode = await command.run(rest);
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`${cmd}: ${e.message}`);
    process.exitCode = 2;
  } else {
    console.error(`${cmd} failed: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
