/**
 * `npm test` runs the bounded, deterministic variant of every reliability test; `npm run soak`
 * (RELIABILITY_SOAK=1) runs the long variants with fresh random seeds. Figures are printed as
 * `[reliability] …` lines so a run's output can be quoted as it stands.
 */
export const SOAK = process.env.RELIABILITY_SOAK === '1';

/** fast-check seed: pinned in `npm test` (a red CI must be reproducible), fresh in the soak. */
export const FC_SEED = SOAK ? Date.now() % 2 ** 31 : 20_260_821;

export function figure(line: string): void {
  console.log(`[reliability] ${line}`);
}

/**
 * The chaos test runs in real time on real sockets, so it needs the machine to itself: `npm test`
 * runs it in a second, solitary vitest run (RELIABILITY_CHAOS=1), and the soak runs it too.
 */
export const CHAOS = SOAK || process.env.RELIABILITY_CHAOS === '1';
