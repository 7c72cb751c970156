/**
 * A reader for tar archives (the ustar layout npm tarballs use, after gunzip), on bytes already in memory.
 *
 * A tar file is a sequence of 512-byte header blocks, each followed by its file's data padded to a multiple of
 * 512, and ends with two zero blocks. A header holds the name (100 bytes, plus a 155-byte prefix in ustar), the
 * size (octal), the type flag and a checksum: the sum of the header's bytes with the checksum field read as
 * spaces. Long names come as a pax extended header ('x', a `path=` record) or a GNU long-name entry ('L') before
 * the entry they name. Every header's checksum is verified, so a damaged archive fails with the entry named.
 * Browser-clean: typed arrays only.
 */

export interface TarEntry {
  /** Path inside the archive, '/'-separated. */
  name: string;
  /** '0' (or '7') regular file, '5' directory, '2' symbolic link, … (the ustar type flag; '\0' is read as '0'). */
  type: string;
  /** The file's bytes (a view into the archive). Empty for non-files. */
  data: Uint8Array;
}

const BLOCK = 512;

function field(header: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && header[end] !== 0) end++;
  return new TextDecoder().decode(header.subarray(offset, end));
}

function octal(header: Uint8Array, offset: number, length: number, what: string, source: string): number {
  const text = field(header, offset, length).trim();
  if (!/^[0-7]+$/.test(text))
    throw new Error(`${source}: corrupt tar header (${what} field is ${JSON.stringify(text)})`);
  return parseInt(text, 8);
}

/**
 * The pax records of an extended header, "<length> key=value\n" each, where <length> counts the record's bytes
 * (not its characters: a UTF-8 name is longer in bytes). A record that runs past the header or does not end in a
 * newline is corrupt.
 */
function paxRecords(data: Uint8Array, source: string): Map<string, string> {
  const decoder = new TextDecoder();
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    let space = at;
    while (space < data.length && data[space] !== 0x20) space++;
    const digits = decoder.decode(data.subarray(at, space));
    const length = /^[0-9]+$/.test(digits) ? Number(digits) : NaN;
    if (
      space >= data.length ||
      !(length > space - at + 1) ||
      at + length > data.length ||
      data[at + length - 1] !== 0x0a
    )
      throw new Error(`${source}: corrupt pax header (the record at byte ${at} has length ${JSON.stringify(digits)})`);
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf('=');
    if (eq < 0) throw new Error(`${source}: corrupt pax record ${JSON.stringify(record)}`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * The entries of a tar archive, in order. Throws, naming `source`, on a bad checksum, a size that runs past the
 * end, or an archive without its end marker.
 */
export function readTar(bytes: Uint8Array, source = 'tar archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (true) {
    if (at + BLOCK > bytes.length)
      throw new Error(`${source}: truncated tar archive (no end marker after ${at} bytes)`);
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const stored = octal(header, 148, 8, 'checksum', source);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    const rawName = field(header, 0, 100);
    if (sum !== stored)
      throw new Error(`${source}: corrupt tar header at byte ${at} (${JSON.stringify(rawName)}): checksum mismatch`);
    const size = octal(header, 124, 12, 'size', source);
    const type = String.fromCharCode(header[156]! || 48);
    const start = at + BLOCK;
    if (start + size > bytes.length)
      throw new Error(`${source}: truncated tar archive: ${rawName} needs ${size} bytes, ${bytes.length - start} left`);
    const data = bytes.subarray(start, start + size);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longName = paxRecords(data, source).get('path') ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const magic = field(header, 257, 6);
    const prefix = magic === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    longName = undefined;
    entries.push({ name, type, data: type === '0' || type === '7' ? data : new Uint8Array(0) });
  }
  return entries;
}
