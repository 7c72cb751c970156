/**
 * How a benchmark process ends when a timeout stops it (a device call's limit): `last` runs once (it writes what was
 * measured so far), then the process exits with 143. The listener stays for good: GNU timeout signals the command
 * and then the command's process group, and a second SIGTERM that found no listener would end the process by the
 * default action, half way through `last`. (A rehearsal of bench/device/run.sh lost its whole table, the log ending at
 * "SIGTERM: writing…", and 1 of 4 reruns of its bench stage on this loaded 2-core machine did: what a second signal
 * coming after the first was handled does; the two signals of one timeout are only that far apart when it is
 * preempted between them. Not proven to be the cause.)
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
