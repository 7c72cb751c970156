/**
 * The command line's option tables and its error reporting (Node only).
 *
 * Every command declares its options once, as a table of `OptionSpec`s (name, type, bounds, default, help);
 * `parseOptions` checks the arguments against that table and `formatOptions` prints the same table as the
 * help text, so a bound in the help is the bound the parser enforces.
 *
 * Errors: a `UsageError` (a bad option) and an `InputError` (a file, folder or value the user gave that cannot
 * be used) print one line and exit 2; so does a file-system error (EACCES, EISDIR, ENOENT, ENOTDIR, …), named by
 * its path. Anything else is an internal failure: one line and exit 1, with the stack only under `--debug`.
 */
import { parseArgs } from 'node:util';
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { describeRange as describeNumberRange, inRange, type NumberRange } from '../gan/train-options.ts';
import { configureKernelsFromEnv } from '../node/tune-store.ts';

/** A mistake in the arguments themselves (unknown option, bad number, missing required option): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A file, folder or dataset the user named that cannot be used as given: exit 2. */
export class InputError extends Error {
  override name = 'InputError';
}

interface Common {
  /** the option's name without `--` */
  name: string;
  help: string;
  /** the value's placeholder in the help (`N`, `X`, `FILE`) */
  arg?: string;
  /** a heading printed before this option in the help */
  section?: string;
}
export interface NumberSpec extends Common, NumberRange {
  default?: number;
}
export interface StringSpec extends Common {
  type: 'string';
  choices?: readonly string[];
  default?: string;
  multiple?: boolean;
}
export interface BooleanSpec extends Common {
  type: 'boolean';
  short?: string;
}
export type OptionSpec = NumberSpec | StringSpec | BooleanSpec;

export { MAX_SEED, MAX_F32 } from '../gan/train-options.ts';
/** Counts of steps, iterations and the like: far beyond any run, below where float32 step counters go wrong. */
export const MAX_STEPS = 10_000_000;

/** `an integer in [1, 256]`, `a number in (0, 1]` (the same words as the trainer and the web page use). */
export function describeRange(s: NumberSpec): string {
  return describeNumberRange(s);
}

/** Checks one number against its spec; the message names the option. */
export function checkNumber(s: NumberSpec, raw: string): number {
  // Decimal notation only (Number() also reads "0x10", "0b1", " 20 " and ""), exponents included (--lr 2e-4).
  const x = DECIMAL.test(raw) ? Number(raw) + 0 : NaN; // + 0: -0 is 0
  if (!inRange(s, x))
    throw new UsageError(`--${s.name}: expected ${describeRange(s)}${s.limit ? ` (${s.limit})` : ''}, got "${raw}"`);
  // the GPU computes in float32 and may flush values below its smallest normal one to 0 (--lr 1e-320, 1e-40)
  if (s.type === 'float' && x !== 0 && Math.abs(x) < FLOAT32_MIN_NORMAL)
    throw new UsageError(
      `--${s.name}: ${raw} is below float32's smallest normal value (1.18e-38), which a GPU may make 0`,
    );
  return x;
}

const FLOAT32_MIN_NORMAL = 2 ** -126;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function checkChoice(s: StringSpec, raw: string): string {
  if (s.choices && !s.choices.includes(raw))
    throw new UsageError(
      `--${s.name}: expected ${s.choices.length === 2 ? s.choices.join(' or ') : `one of ${s.choices.join(', ')}`}, got "${raw}"`,
    );
  return raw;
}

/** The checked values of one command line: numbers as numbers (defaults filled in), strings, booleans. */
export class Options {
  constructor(
    private values: Map<string, number | string | boolean | string[]>,
    private specs: Map<string, OptionSpec>,
  ) {}
  /** whether the option was given on the command line */
  given(name: string): boolean {
    this.spec(name);
    return this.values.has(name);
  }
  num(name: string): number {
    const s = this.spec(name);
    const v = this.values.get(name);
    if (v !== undefined) return v as number;
    if (s.type !== 'integer' && s.type !== 'float') throw new Error(`option --${name} is not a number`);
    if (s.default === undefined) throw new Error(`option --${name} has no default; check given() first`);
    return s.default;
  }
  optNum(name: string): number | undefined {
    return this.given(name) ? this.num(name) : undefined;
  }
  str(name: string): string | undefined {
    const s = this.spec(name);
    const v = this.values.get(name);
    return (v as string | undefined) ?? (s.type === 'string' ? s.default : undefined);
  }
  all(name: string): string[] {
    this.spec(name);
    return (this.values.get(name) as string[] | undefined) ?? [];
  }
  bool(name: string): boolean {
    this.spec(name);
    return this.values.get(name) === true;
  }
  private spec(name: string): OptionSpec {
    const s = this.specs.get(name);
    if (!s) throw new Error(`no option --${name} in this command's table`);
    return s;
  }
}

/**
 * Parses `argv` against a command's table: unknown options, missing values, positionals, non-numbers, numbers
 * out of bounds and values outside `choices` all throw a UsageError naming the option, before any work.
 */
export function parseOptions(argv: string[], table: readonly OptionSpec[]): Options {
  const config: NonNullable<import('node:util').ParseArgsConfig['options']> = {};
  for (const s of table) {
    config[s.name] =
      s.type === 'boolean'
        ? { type: 'boolean', ...(s.short ? { short: s.short } : {}) }
        : { type: 'string', multiple: true };
  }
  // `--seed -1`: parseArgs would read "-1" as an option; join a negative number to its option, to be checked
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    const spec = name !== null ? table.find((t) => t.name === name) : undefined;
    if (spec && spec.type !== 'boolean' && /^-(\d|\.\d|Infinity)/.test(argv[i + 1] ?? '')) {
      args.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else args.push(argv[i]);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: config, allowPositionals: false, strict: true });
  } catch (e) {
    throw parseArgsMistake(e as Error);
  }
  const specs = new Map(table.map((s) => [s.name, s]));
  const values = new Map<string, number | string | boolean | string[]>();
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (raw === undefined) continue;
    const s = specs.get(name)!;
    if (s.type === 'integer' || s.type === 'float') {
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length > 1) throw new UsageError(`--${name} given ${list.length} times`);
      values.set(name, checkNumber(s, String(list[0])));
    } else if (s.type === 'string') {
      const list = (Array.isArray(raw) ? raw : [raw]).map(String);
      if (!s.multiple && list.length > 1) throw new UsageError(`--${name} given ${list.length} times`);
      refuseEmptyValues({ [name]: list });
      for (const x of list) checkChoice(s, x);
      values.set(name, s.multiple ? list : list[list.length - 1]);
    } else values.set(name, raw === true);
  }
  return new Options(values, specs);
}

/** What node:util's parseArgs threw, as the one line of a usage mistake. */
export function parseArgsMistake(e: Error): UsageError {
  // `--out -g.png`: parseArgs takes the value for an option and asks, over three lines, whether one is missing
  const ambiguous = /Option '(--[\w-]+)' argument is ambiguous/.exec(e.message);
  if (ambiguous)
    return new UsageError(`${ambiguous[1]}: a value that starts with "-" is given as ${ambiguous[1]}=VALUE`);
  return new UsageError(oneLine(e.message).replace(/\s*To specify .*$/, ''));
}

/** Refuses an option given an empty value (`--out ''`, an unset shell variable): it would mean the current folder. */
export function refuseEmptyValues(values: Record<string, unknown>): void {
  for (const [name, raw] of Object.entries(values))
    for (const x of Array.isArray(raw) ? raw : [raw])
      if (typeof x === 'string' && x.trim() === '') throw new UsageError(`--${name}: empty value; give a value`);
}

/** parseOptions for a command with a --help switch: null after printing `help` when it was given. */
export function parseOrHelp(argv: string[], table: readonly OptionSpec[], help: string): Options | null {
  const o = parseOptions(argv, table);
  if (!o.bool('help')) return o;
  console.log(help);
  return null;
}

/** The table as help text: one line per option (wrapped), with its range and default, under its section. */
export function formatOptions(table: readonly OptionSpec[], width = 24): string {
  const lines: string[] = [];
  for (const s of table) {
    if (s.section) lines.push(s.section);
    const flag = `  ${s.type === 'boolean' && s.short ? `-${s.short}, ` : ''}--${s.name}${s.type === 'boolean' ? '' : ` ${s.arg ?? (s.type === 'string' ? (s.choices ? s.choices.join('|') : 'VALUE') : s.type === 'integer' ? 'N' : 'X')}`}`;
    let text = s.help;
    if (s.type === 'integer' || s.type === 'float') {
      text += `${text ? '; ' : ''}${describeRange(s).replace(/^an? /, '')}${s.limit ? ` (${s.limit})` : ''}`;
      if (s.default !== undefined) text += ` [${s.default}]`;
    } else if (s.type === 'string' && s.default !== undefined) text += ` [${s.default}]`;
    const first = flag.length + 1 > width ? `${flag}\n${' '.repeat(width)}` : flag.padEnd(width);
    lines.push(first + wrap(text, 118 - width).join(`\n${' '.repeat(width)}`));
  }
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

const oneLine = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');

const FS_WHAT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'a part of the path is a file, expected a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  // writeFileAtomic's own refusal (src/node/files.ts)
  ENOTREGULAR: 'it exists and is not a regular file (a device, pipe or socket)',
};
const FS_ACTION: Record<string, string> = {
  open: 'cannot open',
  mkdir: 'cannot create folder',
  read: 'cannot read',
  write: 'cannot write',
  rename: 'cannot write',
  scandir: 'cannot list folder',
  stat: 'cannot find',
  lstat: 'cannot find',
  replace: 'will not replace',
};

/** A file-system error in this error or its causes (writeFileAtomic wraps them), as `{ code, path, syscall }`. */
function fsCause(e: unknown): { code: string; path?: string; syscall?: string } | null {
  for (let c = e, depth = 0; c && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    const err = c as NodeJS.ErrnoException;
    if (typeof err.code === 'string' && FS_WHAT[err.code] && (err.path || err.syscall)) return err as never;
  }
  return null;
}

/** One line for a file-system error: what could not be done, on which path, and why. */
export function describeFsError(e: unknown): string | null {
  const f = fsCause(e);
  if (!f) return null;
  const action = (f.syscall && FS_ACTION[f.syscall]) ?? 'cannot use';
  return `${action} ${f.path ?? '(unknown path)'}: ${(f.syscall === 'mkdir' && mkdirWhy(f)) || FS_WHAT[f.code]} (${f.code})`;
}

/**
 * Why a folder could not be made, where the code alone misleads: EEXIST from a recursive mkdir means a file (not a
 * folder) has the name; ENOENT, that a part of the path is a link to nothing. Null: the usual words.
 */
function mkdirWhy(f: { code: string; path?: string }): string | null {
  if (!f.path) return null;
  if (f.code === 'EEXIST') return 'a file of that name is there, not a folder';
  if (f.code !== 'ENOENT') return null;
  for (let p = resolve(f.path); p !== dirname(p); p = dirname(p)) {
    try {
      if (lstatSync(p).isSymbolicLink() && !existsSync(p))
        return `${p} is a link to ${readlinkSync(p)}, which does not exist`;
    } catch {
      // not there: look further up
    }
  }
  return null;
}

let debug = false;
/** `--debug` (read by the dispatcher): internal errors print their stack. */
export function setDebug(on: boolean): void {
  debug = on;
}
/**
 * Prints a command's error and returns its exit code: 2 with one line for a user's mistake (UsageError,
 * InputError, a file-system error naming its path), 1 with one line for anything else (the stack with --debug).
 */
export function reportError(cmd: string, e: unknown): number {
  const msg = (x: unknown) => oneLine(x instanceof Error ? x.message : String(x));
  if (e instanceof UsageError || e instanceof InputError) {
    console.error(`${cmd}: ${msg(e)}${debug && e.stack ? `\n${e.stack}` : ''}`);
    return 2;
  }
  const fs = describeFsError(e);
  if (fs) {
    const code = fsCause(e)!.code;
    console.error(`${cmd}: ${fs}${debug && e instanceof Error ? `\n${e.stack}` : ''}`);
    return code === 'ENOSPC' ? 1 : 2;
  }
  if (debug && e instanceof Error && e.stack) console.error(`${cmd} failed: ${e.stack}`);
  else console.error(`${cmd} failed: ${msg(e)} (run again with --debug for the stack trace)`);
  return 1;
}

/**
 * Reads a file the user named with `flag`: a missing path or a folder is an InputError naming the flag, the
 * path and what was expected (`what`, e.g. "a checkpoint .safetensors file").
 */
export function readInputFile(path: string, flag: string, what: string): Uint8Array {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : (FS_WHAT[code ?? ''] ?? (e as Error).message)}; expected ${what}`,
    );
  }
  if (st.isDirectory()) throw new InputError(`${flag} ${path}: is a folder; expected ${what}`);
  // A device (/dev/zero reads for ever), a pipe (waits for a writer) or a socket: not a file to load.
  if (!st.isFile())
    throw new InputError(`${flag} ${path}: is not a regular file (a device, pipe or socket); expected ${what}`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InputError(`${flag} ${path}: ${describeFsError(e) ?? (e as Error).message}; expected ${what}`);
  }
}

/** Checks that `dir` is a folder or can be created as one (an existing file there is an InputError). */
export function checkOutputFolder(dir: string, flag: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new InputError(`${flag} ${dir}: is a file; expected a folder (or a path where one can be created)`);
}

/** Whether two paths name one file: the same path once resolved, or (both existing) the same file through a link. */
export function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // one of them does not exist yet
  }
}

/** `path` with every link resolved, also where its last parts do not exist yet (they are kept as given). */
export function realPath(path: string): string {
  const full = resolve(path);
  const parent = dirname(full);
  if (existsSync(full)) return realpathSync(full);
  return parent === full ? full : join(realPath(parent), basename(full));
}

/** Whether `inner` is `outer` or lies inside it, links resolved (`inner` need not exist yet). */
export function isInside(inner: string, outer: string): boolean {
  const [a, b] = [realPath(inner), realPath(outer)];
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
}

/**
 * Whether a file can be created in `dir`, tried for real (a probe file made and removed): permissions, a read-only
 * mount, or a kernel file system such as /sys, which even root cannot write in. Throws an InputError naming
 * `flag` and `path` (the file the command will write there) otherwise.
 */
export function checkWritableFolder(dir: string, flag: string, path: string): void {
  const probe = join(dir, `.wgpu-gan-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${flag} ${path}: the folder ${dir} cannot be written (${FS_WHAT[code ?? ''] ?? code})`);
  }
  try {
    rmSync(probe, { force: true });
  } catch {
    // made but not removable: harmless (a hidden empty file); the folder is writable
  }
}

/**
 * An output file the user named: not a folder, its folder not a file, and that folder (or, where it is missing and
 * will be created by the caller, the nearest one that exists) writable.
 */
export function checkOutputFile(path: string, flag: string): void {
  if (path.trim() === '') throw new UsageError(`${flag}: empty value; give a file name`);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new InputError(`${flag} ${path}: is a folder; expected a file name to write`);
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new InputError(`${flag} ${path}: ${dir} is a file; expected a folder`);
      // the folder, or the nearest one that exists (where the missing ones will be made), must take files now,
      // not after the work
      checkWritableFolder(dir, flag, path);
      break;
    }
    if (dir === dirname(dir)) break;
  }
}

/**
 * A command-line program's entry (main.ts, and demo.ts, style.ts and train-classifier.ts run on their own): the
 * environment's kernel and device settings (WGPU_GAN_AUTOTUNE, _CONV, _MATMUL, _DAWN_POLL, _LIMITS, …:
 * src/node/tune-store.ts; a value they do not know is the user's mistake), then `run`; an error either throws is
 * reported by reportError under `name`, whose exit code is returned.
 */
export async function runProgram(
  name: string,
  run: () => Promise<number>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    try {
      configureKernelsFromEnv(env);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return await run();
  } catch (e) {
    return reportError(name, e);
  }
}
