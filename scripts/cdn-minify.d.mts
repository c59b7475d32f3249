import type { Options } from 'tsup';
/** See cdn-minify.mjs. */
export declare const INTERNAL_PROPERTIES: string[];
export declare const TERSER_OPTIONS: NonNullable<Options['terserOptions']>;
