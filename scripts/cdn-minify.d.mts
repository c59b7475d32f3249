import type { Options } from 'tsup';
/** See cdn-minify.mjs. */
export declare const INTERNAL_PROPERTIES: string[];
export declare const TERSER_OPTIONS: NonNullable<Options['terserOptions']>;
/** The machines' action, guard and delay names, read from src/machines (renamed by `minifyCdn`). */
export declare function machinePartNames(dir?: string): string[];
/** The machines' own event types, read from the `on` objects under src/machines (renamed by `minifyCdn`). */
export declare function machineEventTypes(dir?: string): string[];
/** The machines' state names: the keys of every `states` object under src/machines. */
export declare function machineStateNames(dir?: string): string[];
/** Which of `names` the script names only as states (keys of `states`, targets, `matches` arguments): those `minifyCdn` renames. */
export declare function renamableStates(code: string, names?: string[]): string[];
/** A script's state keys, and the state paths its configs and `matches` calls name, split into names. */
export declare function stateReferences(code: string): { keys: Set<string>; paths: string[]; names: string[] };
/** The CDN script's minification after esbuild's: terser, then the strings naming machine parts, event types and states renamed alike. */
export declare function minifyCdn(code: string, parts?: string[], events?: string[], states?: string[]): Promise<string>;
