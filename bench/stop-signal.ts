/**
 * How a benchmark process ends when a timeout stops it (a device call's limit): `last` runs once (it writes what was
 * measured so far), then the process exits with 143. The listener stays for good: GNU timeout signals the command
 * and then the command's process group, and a second SIGTERM that found no listener would end the process by the
 * default action, half way through `last` (a rehearsal of bench/device/run.sh lost its whole table that way).
 */
export function onSigterm(last: () => void): void {
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    last();
    process.exit(143);
  });
}
