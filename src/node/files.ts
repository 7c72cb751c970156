/**
 * Small file-system helpers for Node: atomic writes (a crash or a full disk never leaves a half-written
 * checkpoint or image), JSON-lines logs, and directory creation.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
  appendFileSync,
  readdirSync,
  readFileSync,
  existsSync,
  lstatSync,
  statSync,
  writeFileSync,
  linkSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Creates `dir` and any missing parents; fine if it already exists. */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Flushes a directory's entry table so that a rename inside it survives power loss (no-op where unsupported). */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync directories; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one, never a mix:
 * the bytes go to a temporary file in the same directory (so the rename stays on one file system), are
 * fsynced, and the temp file is then renamed over the target. On any error the temp file is removed.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  refuseToReplace(path);
  removeStaleTemps(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    faultBeforeRename(path);
    renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing; keep the first error */
      }
    }
    rmSync(temp, { force: true });
    // The user named `path`, not the hidden temporary file: errors about the temp speak of the target.
    const e = err as NodeJS.ErrnoException;
    if (e.path === temp) e.path = path;
    throw new Error(`writeFileAtomic: could not write ${path}: ${e.message.split(temp).join(path)}`, { cause: err });
  }
  fsyncDirectory(dir);
}

/**
 * An existing `path` that a rename must not replace: a folder, or anything but a regular file (a device such as
 * /dev/null, a pipe, a socket: replacing one with a file, as root, would break the system), also behind a link
 * (/dev/stdout is a link to one). Throws a file-system error naming `path`.
 */
function refuseToReplace(path: string): void {
  let st;
  try {
    st = lstatSync(path);
    if (st.isSymbolicLink()) st = statSync(path);
  } catch {
    return; // nothing there (or a broken link): the write itself reports any problem
  }
  if (st.isFile()) return;
  // EISDIR as Node names it; ENOTREGULAR is this project's (src/cli/args.ts words it for the user).
  const [code, what] = st.isDirectory()
    ? ['EISDIR', 'is a folder, expected a file']
    : ['ENOTREGULAR', 'exists and is not a regular file (a device, pipe or socket); it was not replaced'];
  const err = new Error(`${code}: ${path} ${what}`) as NodeJS.ErrnoException;
  Object.assign(err, { code, path, syscall: 'replace' });
  throw new Error(`writeFileAtomic: could not write ${path}: ${path} ${what}`, { cause: err });
}

/**
 * Fault injection for crash tests: with `WGPU_GAN_FAULT=kill-before-rename:<file name>:<n>`, the n-th atomic write
 * of a file of that name in this process kills the process (SIGKILL) after the temporary file is written and
 * flushed, before the rename — the moment a power cut or `kill -9` would leave a complete temp and the old target.
 * tests/crash-safety.test.ts uses it; unset, it costs one environment lookup per write.
 */
const faultWrites = new Map<string, number>();
function faultBeforeRename(path: string): void {
  const spec = process.env.WGPU_GAN_FAULT;
  if (!spec?.startsWith('kill-before-rename:')) return;
  const [, name, nth] = spec.split(':');
  if (basename(path) !== name) return;
  const count = (faultWrites.get(path) ?? 0) + 1;
  faultWrites.set(path, count);
  if (count === Number(nth)) process.kill(process.pid, 'SIGKILL');
}

/**
 * Fault injection for the lock's race test: with `WGPU_GAN_FAULT=lock-pause:<ms>`, lockFolder waits up to that many
 * milliseconds (at random) at the two moments another process may act between its steps: after it read a lock it
 * found, and after it took a stale lock's takeover token. tests/cli-mistakes.test.ts starts 4 processes at once so;
 * unset, it costs one environment lookup per lock attempt.
 */
function lockPause(): void {
  const spec = process.env.WGPU_GAN_FAULT;
  if (spec?.startsWith('lock-pause:')) sleepMs(Math.random() * Number(spec.slice('lock-pause:'.length)));
}

/** Whether a process with this id is running (a process of another user counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The file a run folder's lock is kept in (see lockFolder). */
export const LOCK_FILE = '.train.lock';

/** Who holds a folder's lock: the process id and the host it runs on. */
export interface LockHolder {
  pid: number;
  host: string;
}

/** A lock file's holder, or null when it cannot be read or is not one (a hand-made or damaged file). */
function readLockHolder(path: string): LockHolder | null {
  try {
    const [pid, ...host] = readFileSync(path, 'utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isSafeInteger(n) && n > 0 && host.length ? { pid: n, host: host.join(' ') } : null;
  } catch {
    return null;
  }
}

/**
 * Claims folder `dir` for this process (train's --out): DIR/.train.lock holds "PID HOST" of the process that holds
 * it. Two runs writing one folder at once would interleave their logs and overwrite each other's checkpoints.
 * The lock appears whole or not at all (written to a temporary file, then linked into place: a second process never
 * reads it half-written, and of processes linking at once one alone succeeds). A lock whose process on this host
 * has ended (killed: its exit never released it), this process's own, or one that is not a lock file is stale: it
 * is removed by the one process that links a takeover token named after that very file (its inode and change
 * time), which checks again, holding the token, that the file is still there and still stale. (Renaming a stale
 * lock away, as before, could move a fresh lock another process had linked meanwhile: 2 of 4 processes then held
 * the folder, once in a CI run; with pauses like WGPU_GAN_FAULT=lock-pause's, in every one of 30 trials of 6
 * processes.) A lock of another host cannot be checked and counts as held. `release` removes the lock if it is
 * still this process's; it also runs at exit.
 */
export function lockFolder(dir: string): { release: () => void } | { heldBy: LockHolder; path: string } {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname() };
  const text = `${me.pid} ${me.host}\n`;
  const temp = join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const live = (h: LockHolder | null) =>
    h !== null && (h.host !== me.host || (h.pid !== me.pid && processAlive(h.pid)));
  /** The file at `path` now (inode and change time), or null when there is none. */
  const identity = () => {
    try {
      const st = statSync(path, { bigint: true });
      return `${st.ino}-${st.ctimeNs}`;
    } catch {
      return null;
    }
  };
  writeFileSync(temp, text);
  let busyToken: string | null = null; // the last takeover token found held by another process
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (attempt > 0) sleepMs(10 + Math.random() * 20); // another process is taking a stale lock over
      try {
        linkSync(temp, path);
        const release = () => {
          process.off('exit', release);
          try {
            if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
          } catch {
            // gone already
          }
        };
        process.on('exit', release);
        return { release };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = identity();
      if (seen === null) continue; // released meanwhile
      const holder = readLockHolder(path);
      lockPause();
      if (live(holder)) return { heldBy: holder!, path };
      // stale (or replaced since it was seen: checked again under the token)
      const token = `${path}.takeover-${seen}`;
      try {
        linkSync(temp, token);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        busyToken = token;
        continue; // another process is taking this file over
      }
      try {
        // Holding the token, no other process removes this file, and none can link another in while it is there.
        lockPause();
        if (identity() !== seen) continue;
        const again = readLockHolder(path);
        if (live(again)) return { heldBy: again!, path };
        rmSync(path, { force: true });
      } finally {
        rmSync(token, { force: true });
      }
    }
    throw new Error(
      busyToken && existsSync(busyToken)
        ? `cannot lock ${dir}: its stale ${LOCK_FILE} is being taken over by another process, or was by one that was killed (if no train is starting there, remove ${busyToken} and ${path})`
        : `cannot lock ${dir}: its ${LOCK_FILE} keeps changing (several trains starting there at once?)`,
    );
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Waits `ms` milliseconds, holding the thread (lockFolder runs before anything else of a train). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes the temporary files that writeFileAtomic left for `path` in a process that was killed mid-write
 * (`.<name>.<pid>.<12 hex>.tmp` whose pid is no longer running). Temps of running processes, this process's
 * own and other targets' are left alone; a file that cannot be listed or removed is skipped.
 * Returns the names removed.
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const name = basename(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.startsWith(`.${name}.`) || !entry.endsWith('.tmp')) continue;
    const m = /^\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(entry.slice(name.length + 1));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(dir, entry), { force: true });
      removed.push(entry);
    } catch {
      /* another process removed it, or we may not: leave it */
    }
  }
  return removed;
}

/**
 * Keeps only the lines of a JSON-lines file whose record passes `keep` (torn or unparsable lines are dropped),
 * rewriting the file atomically when anything was dropped; returns the kept records (null read as NaN).
 * A missing file gives [] and stays missing.
 */
export function truncateJsonl<T>(path: string, keep: (record: T) => boolean): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const kept: string[] = [];
  const records: T[] = [];
  let dropped = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let rec: T;
    try {
      rec = JSON.parse(line, (_, v) => (v === null ? NaN : v)) as T;
    } catch {
      dropped = true;
      continue;
    }
    if (keep(rec)) {
      kept.push(line);
      records.push(rec);
    } else dropped = true;
  }
  if (dropped) writeFileAtomic(path, kept.length ? kept.join('\n') + '\n' : '');
  return records;
}

/** Appends `record` as one JSON line to `path` (created if missing). Non-finite numbers become null, as in
 *  JSON; a record that cannot be serialised (e.g. a cycle or a BigInt) throws naming the file. */
export function appendJsonl(path: string, record: unknown): void {
  let line: string;
  try {
    line = JSON.stringify(record);
  } catch (err) {
    throw new Error(`appendJsonl: record for ${path} is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (line === undefined)
    throw new Error(`appendJsonl: record for ${path} is not JSON-serialisable (got ${typeof record})`);
  appendFileSync(path, line + '\n');
}
