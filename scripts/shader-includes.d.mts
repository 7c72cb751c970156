/** Types of scripts/shader-includes.mjs (plain JavaScript, so that gen-shaders.mjs runs under node without tsx). */
export function withIncludes(source: string, shadersDir: string, file: string): string;
