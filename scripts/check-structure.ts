/**
 * The import rules of src/, checked with the TypeScript compiler (`npx tsx scripts/check-structure.ts`; also run
 * by tests/structure.test.ts, so `npm test` fails when one breaks):
 *
 *  1. No import cycle among the modules of src/ (runtime imports: `import type` and type-only names do not count;
 *     `export … from` and dynamic `import('…')` do).
 *  2. The engine's layers import only downwards (or sideways within a layer):
 *       gpu, shaders, shape ← engine ← tensor ← record ← the ops (elementwise, reduction, movement, matmul on
 *       reduce-kernel; ops.ts, which installs them) and the kernels' modules ← graph (the walker) ← init, index.
 *  3. No module relies on prototype patching it does not import: a call of a Tensor method that another module
 *     installs (ops.ts installs `add`, `reshape`, … from its method table; autograd/graph.ts installs `backward`) is
 *     allowed only in a module that imports the installing module, directly or through others.
 *  4. The folders of src/ import only folders below them (FOLDER_RANKS): io, reference ← the engine (tensor,
 *     autograd), data ← nn ← gan, style, check ← node ← cli; the engine's own layers are rule 2.
 *  5. Everything but node/ and cli/ runs in a browser too: no runtime import of a Node module (`node:…` or a
 *     builtin's bare name) there, and no use of a global only Node declares (`process`, `Buffer`, `__dirname`, …:
 *     names whose every declaration is in @types/node; tsconfig gives every folder Node's types).
 *
 * Prints one line per problem and exits 1 if there are any.
 */
import ts from 'typescript';
import { dirname, join, relative, resolve } from 'node:path';
import { readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Layer of each core module (path relative to src/); a module may import only modules of its layer or below. */
export const LAYERS: Record<string, number> = {
  'shaders.gen.ts': 0,
  'tensor/gpu.ts': 0,
  'tensor/params.ts': 0,
  'tensor/shape.ts': 0,
  'tensor/buffer-pool.ts': 0,
  'tensor/engine.ts': 1,
  'tensor/tensor.ts': 2,
  'autograd/record.ts': 3,
  'tensor/reduce-kernel.ts': 4,
  'tensor/elementwise.ts': 4,
  'tensor/movement.ts': 4,
  'tensor/reduction.ts': 4,
  'tensor/ops.ts': 4,
  'tensor/matmul.ts': 4,
  'tensor/conv.ts': 4,
  'tensor/pool.ts': 4,
  'tensor/norm.ts': 4,
  'tensor/gram.ts': 4,
  'tensor/finite.ts': 4,
  'tensor/losses.ts': 4,
  'tensor/gan-ops.ts': 4,
  'tensor/autotune.ts': 2,
  'tensor/slots.ts': 2,
  'autograd/graph.ts': 5,
  'tensor/init.ts': 6,
  'tensor/index.ts': 6,
};

/**
 * Rank of each folder of src/ (a file directly in src/, the generated shaders, is 0): a module may import its own
 * folder and folders of lower rank. tensor/ and autograd/ are one engine (their layers: LAYERS).
 */
export const FOLDER_RANKS: Record<string, number> = {
  '': 0,
  io: 0,
  reference: 0,
  engine: 1,
  data: 1,
  nn: 2,
  gan: 3,
  style: 3,
  check: 3,
  node: 4,
  cli: 5,
};
/** The folders whose modules may use Node's own modules (the others run in a browser as well). */
const NODE_FOLDERS = new Set(['node', 'cli']);

/** A src/-relative path's folder as FOLDER_RANKS names it. */
function folderOf(relPath: string): string {
  const parts = relPath.split('/');
  const top = parts.length > 1 ? parts[0]! : '';
  return top === 'tensor' || top === 'autograd' ? 'engine' : top;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Runtime imports of one file, as absolute paths of files under src/; `packages` collects the other specifiers
 * (packages, Node's modules).
 */
function runtimeImports(sf: ts.SourceFile, srcDir: string, packages: string[] = []): string[] {
  const out: string[] = [];
  const add = (spec: string): void => {
    if (!spec.startsWith('.')) {
      packages.push(spec);
      return;
    }
    const target = resolve(dirname(sf.fileName), spec);
    if (target.startsWith(srcDir)) out.push(target);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause &&
          !clause.name &&
          clause.namedBindings &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) add(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) add(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

export function checkStructure(root = ROOT): string[] {
  const srcDir = join(root, 'src');
  const files = sourceFiles(srcDir);
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  const program = ts.createProgram(files, { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const rel = (f: string): string => relative(srcDir, f).split('\\').join('/');
  const problems: string[] = [];

  const imports = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const f of files) {
    const other: string[] = [];
    imports.set(f, runtimeImports(program.getSourceFile(f)!, srcDir, other));
    packages.set(f, other);
  }

  // 1. Cycles: depth-first search with colours; report each cycle once, as the path that closes it.
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const dfs = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const g of imports.get(f) ?? []) {
      if (state.get(g) === 'open')
        problems.push(`import cycle: ${[...path.slice(path.indexOf(g)), g].map(rel).join(' → ')}`);
      else if (!state.has(g)) dfs(g);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) dfs(f);

  // 2. Layers.
  for (const [f, targets] of imports) {
    const layer = LAYERS[rel(f)];
    if (layer === undefined) continue;
    for (const g of targets) {
      const to = LAYERS[rel(g)];
      if (to === undefined)
        problems.push(`${rel(f)} (engine layer ${layer}) imports ${rel(g)}, which is outside the engine's layers`);
      else if (to > layer)
        problems.push(`${rel(f)} (layer ${layer}) imports ${rel(g)} (layer ${to}): an upward import`);
    }
  }

  // 4. Folders.
  for (const [f, targets] of imports) {
    const from = folderOf(rel(f));
    for (const g of targets) {
      const to = folderOf(rel(g));
      if (to === from) continue;
      const [a, b] = [FOLDER_RANKS[from], FOLDER_RANKS[to]];
      if (a === undefined || b === undefined)
        problems.push(`${rel(f)} imports ${rel(g)}: folder ${a === undefined ? from : to} has no rank in FOLDER_RANKS`);
      else if (b >= a)
        problems.push(
          `${rel(f)} (folder ${from}, rank ${a}) imports ${rel(g)} (folder ${to}, rank ${b}): not below it`,
        );
    }
  }

  // 5. Browser-clean folders.
  const builtins = new Set(builtinModules);
  for (const [f, specs] of packages) {
    if (NODE_FOLDERS.has(folderOf(rel(f)))) continue;
    for (const spec of specs)
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0]!))
        problems.push(`${rel(f)} imports ${spec}: a Node module, in a folder that runs in a browser too`);
  }
  const nodeOnly = (symbol: ts.Symbol | undefined): boolean =>
    !!symbol?.declarations?.length &&
    symbol.declarations.every((d) => /[\\/]@types[\\/]node[\\/]/.test(d.getSourceFile().fileName));
  for (const f of files) {
    if (NODE_FOLDERS.has(folderOf(rel(f)))) continue;
    const sf = program.getSourceFile(f)!;
    const seen = new Set<string>();
    const visit = (node: ts.Node): void => {
      // a name used on its own (not `x.process`, not a declaration's own name) that resolves to Node's globals
      if (
        ts.isIdentifier(node) &&
        !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node) &&
        !(ts.isQualifiedName(node.parent) && node.parent.right === node) &&
        // `{ process }` names the property; its value is the global
        nodeOnly(
          ts.isShorthandPropertyAssignment(node.parent)
            ? checker.getShorthandAssignmentValueSymbol(node.parent)
            : checker.getSymbolAtLocation(node),
        ) &&
        !seen.has(node.text)
      ) {
        seen.add(node.text);
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
        problems.push(
          `${rel(f)}:${line + 1} uses ${node.text}, a global only Node has, in a folder that runs in a browser too`,
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  // 3. Prototype patching: calls of methods that an augmentation of another file adds to an interface
  //    (`declare module '…' { interface Tensor … }`): its own members, and the members of the types it extends
  //    (ops.ts derives its methods from a table as a mapped type). Found by symbol, and by declaration for the
  //    members a mapped type copies from the table's entries.
  const installedBy = new Map<ts.Symbol | ts.Node, string>();
  for (const f of files) {
    const collect = (node: ts.Node, inAugmentation: boolean): void => {
      const inside = inAugmentation || (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name));
      if (inside && ts.isInterfaceDeclaration(node)) {
        const symbols = node.members.flatMap((m) => (m.name ? [checker.getSymbolAtLocation(m.name)] : []));
        for (const clause of node.heritageClauses ?? [])
          for (const t of clause.types) symbols.push(...checker.getTypeAtLocation(t).getProperties());
        for (const symbol of symbols) {
          if (!symbol) continue;
          installedBy.set(symbol, f);
          for (const d of symbol.declarations ?? []) installedBy.set(d, f);
        }
      }
      ts.forEachChild(node, (child) => collect(child, inside));
    };
    collect(program.getSourceFile(f)!, false);
  }
  const reach = (f: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [f];
    while (stack.length)
      for (const g of imports.get(stack.pop()!) ?? [])
        if (!seen.has(g)) {
          seen.add(g);
          stack.push(g);
        }
    return seen;
  };
  for (const f of files) {
    const sf = program.getSourceFile(f)!;
    let reachable: Set<string> | undefined;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const symbol = checker.getSymbolAtLocation(node.expression.name);
        const decl = symbol?.declarations?.[0];
        const installer = (symbol && installedBy.get(symbol)) ?? (decl && installedBy.get(decl));
        if (installer && installer !== f) {
          reachable ??= reach(f);
          if (!reachable.has(installer)) {
            const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
            problems.push(
              `${rel(f)}:${line + 1} calls .${node.expression.name.text}(), which ${rel(installer)} installs on Tensor, without importing it`,
            );
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkStructure();
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log(
    'src/: no import cycle, no upward import between engine layers or folders, no Node module or Node-only global outside node/ and cli/, no unimported prototype patching',
  );
}
