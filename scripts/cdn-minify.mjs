/**
 * How the CDN script is minified, shared by the build (tsup.config.ts) and the size table
 * (bench/size.mjs) so both measure the same bytes: esbuild's minifier first (its renaming and
 * syntax folding), then terser with three compress passes — about 1.5 KB less after gzip than
 * esbuild's minifier alone on this bundle (bench/README.md, "Bundle").
 * unsafe_arrows: no function expression here is called with `new` or uses `this`; pure_getters:
 * the getters here (roster.size, clock.offset) only read; keep_fargs: nothing reads a function's
 * `length`.
 */

/**
 * Property names that never leave the CDN script, renamed short by terser (−258 B min+gzip):
 * the session's context fields and the roster's and server clock's internals. A name may be
 * listed only when it is never a public name, a wire field (Appwrite SDK arguments, REST or
 * realtime payloads, BroadcastChannel messages), a machine's state, action, guard, delay or actor
 * name (those are strings in the machine config), or read with `in` / `['…']`:
 * test/cdn-properties.test.ts checks what it can of that, and the browser tests run the result.
 */
export const INTERNAL_PROPERTIES = [
  // session context (src/machines/session/types.ts)
  'checkMetadata', 'pageHidden', 'tabsOf', 'unshared', 'hasRow', 'rowVersion', 'loaded',
  'buffer', 'due', 'inflight', 'seq', 'confirmedSeq', 'failedSeq', 'lastWriteFailed', 'failures', 'wanted',
  'restart', 'leaving', 'desired', 'confirmed', 'newId', 'defaults',
  // roster entries and the roster's own state (src/machines/roster.ts)
  'tombs', 'oldestTomb', 'selfId', 'selfView', 'listCache', 'listStale', 'reorder', 'patches', 'recordsCache',
  'changes', 'timerAt', 'goneAt', 'expiry', 'slot', 'setSelf', 'selfRecord', 'isVisible', 'sweep', 'disarm', 'touch',
  // the server clock (src/machines/clock.ts)
  'estimate', 'doubtAt', 'sampleLowerBound',
];

export const TERSER_OPTIONS = {
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true, pure_getters: true, keep_fargs: false },
  mangle: { properties: { regex: new RegExp(`^(?:${INTERNAL_PROPERTIES.join('|')})$`) } },
  format: { comments: false, wrap_func_args: false },
};
