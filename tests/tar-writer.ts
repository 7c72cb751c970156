/**
 * Writes small tar archives for the tests (ustar headers, optional pax long names), so the emoji fetch code can
 * be tested on tarballs the tests make: nothing downloads in tests.
 */
import { gzipSync } from 'node:zlib';

export interface TarFile {
  name: string;
  data: Uint8Array | string;
  /** Write the name as a pax extended header ('x' entry with path=) instead of the ustar name field. */
  pax?: boolean;
}

function header(name: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(512);
  const put = (offset: number, text: string) => h.set(new TextEncoder().encode(text), offset);
  put(0, name.slice(0, 100));
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  put(156, type);
  put(257, 'ustar\0');
  put(263, '00');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

/** The bytes of a tar archive holding `files` (regular files), ended by two zero blocks. */
export function makeTar(files: readonly TarFile[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const data = typeof f.data === 'string' ? new TextEncoder().encode(f.data) : f.data;
    if (f.pax) {
      // "<len> path=<name>\n", where <len> counts the record's bytes (UTF-8), itself included
      const body = ` path=${f.name}\n`;
      const bytes = (s: string) => new TextEncoder().encode(s).length;
      let len = bytes(body) + 1;
      while (bytes(`${len}${body}`) !== len) len++;
      const record = new TextEncoder().encode(`${len}${body}`);
      parts.push(header('PaxHeader', record.length, 'x'), padded(record));
      parts.push(header(f.name.slice(-100), data.length, '0'), padded(data));
    } else {
      parts.push(header(f.name, data.length, '0'), padded(data));
    }
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** makeTar, gzipped (an npm .tgz). */
export function makeTgz(files: readonly TarFile[]): Uint8Array {
  return new Uint8Array(gzipSync(makeTar(files)));
}
