import type { Options } from 'tsup';
/** See cdn-minify.mjs. */
export declare const INTERNAL_PROPERTIES: string[];
export declare const TERSER_OPTIONS: NonNullable<Options['terserOptions']>;
/** The machines' action, guard and delay names, read from src/machines (renamed by `minifyCdn`). */
export declare function machinePartNames(dir?: string): string[];
/** The CDN script's minification after esbuild's: terser, then the machine parts' strings renamed alike. */
/** The machines' own event types, read from the `on` objects under src/machines (renamed by `minifyCdn`). */
export declare function machineEventTypes(dir?: string): string[];
export declare function minifyCdn(code: string, parts?: string[], events?: string[]): Promise<string>;
