/**
 * Generated blocks inside hand-written Markdown: the text between `<!-- TAG:NAME:begin … -->` and
 * `<!-- TAG:NAME:end -->` lines. `npm run results` (tag `results`) and `npm run kernel-guide` (tag
 * `kernel-guide`) write their figures there, and their `--check` modes compare them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/node/files.ts';

/** One generated block: the Markdown file (relative to the repository root), the block's name and its body. */
export interface MarkedBlock {
  file: string;
  name: string;
  body: string;
}
export function markedBlocks(tag: string) {
  const begin = (name: string) => new RegExp(`^<!-- ${tag}:${name}:begin\\b[^\\n]*-->[ \\t]*$`, 'm');
  const end = (name: string) => new RegExp(`^<!-- ${tag}:${name}:end -->[ \\t]*$`, 'm');
  const find = (text: string, name: string) => {
    const b = begin(name).exec(text);
    const e = end(name).exec(text);
    return b && e && e.index >= b.index + b[0].length ? { from: b.index + b[0].length, to: e.index } : undefined;
  };
  const replaceBlock = (text: string, name: string, body: string, file = 'file'): string => {
    const at = find(text, name);
    if (!at) throw new Error(`${file}: no <!-- ${tag}:${name}:begin --> … <!-- ${tag}:${name}:end --> markers`);
    return text.slice(0, at.from) + '\n' + body + '\n' + text.slice(at.to);
  };
  return {
    /** The text between a block's marker lines, or undefined when the markers are missing or out of order. */
    extractBlock(text: string, name: string): string | undefined {
      const at = find(text, name);
      return at && text.slice(at.from + 1, at.to).replace(/\n$/, '');
    },
    /** `text` with a block's body replaced; throws when its markers are missing. */
    replaceBlock,
    /** Rewrites (atomically) each file whose blocks differ from `blocks`; returns the files it changed. */
    writeBlocks(root: string, blocks: readonly MarkedBlock[]): string[] {
      const changed: string[] = [];
      for (const file of [...new Set(blocks.map((b) => b.file))]) {
        const before = readFileSync(join(root, file), 'utf8');
        let text = before;
        for (const b of blocks.filter((x) => x.file === file)) text = replaceBlock(text, b.name, b.body, file);
        if (text !== before) {
          writeFileAtomic(join(root, file), text);
          changed.push(file);
        }
      }
      return changed;
    },
  };
}
