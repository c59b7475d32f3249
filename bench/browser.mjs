// Rendering in real Chromium (Debian's /usr/bin/chromium via playwright-core, never a downloaded
// browser): a plain-Alpine page (the CDN build, dist/manifest.appwrite.presences.js) listing 1 000
// people with `x-for` over `$presence.list`, while the roster receives RATE status events per
// second through the emulator (a child process; a project key updates random people's rows over
// REST, the emulator fans each change out to the page's realtime socket).
//
//   node bench/browser.mjs [--people 1000] [--rate 400] [--seconds 10] [--bundle file.js] [--out file.json]
//                          [--no-list]
//
// --no-list (a diagnosis, not a figure): the page shows only the count, so the library's and
// Alpine's per-event cost can be told from the list's rendering. BENCH_TRACE=1 prints where each
// page's renderer main thread spent its time (Chromium trace events, self time by name: Paint,
// Layout, FunctionCall, …; BENCH_TRACE_DUMP=prefix also saves the raw events as prefix.<page>.json);
// BENCH_PROFILE=file.cpuprofile saves each page's CPU profile (the bare page's as file.bare.cpuprofile).
// None of them is on in a measured run: they add their own cost to the busy share they watch.
//
// Measured over SECONDS, after the page is ready and the stream has run for 2 s:
//   busy      main-thread task time of the renderer (CDP Performance.getMetrics TaskDuration),
//             per second of wall time, as a share; plus long tasks (PerformanceObserver 'longtask').
//   commits   DOM commits per second: MutationObserver callbacks on the list (each one is one
//             batch of DOM changes that the page applied in one task).
//   frames    realtime messages the page received per second (counted by a listener on its socket).
// The same page with no stream gives the idle floor, in the same run.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { keyClient, seedRoster, startEmulatorProcess } from './sdk.mjs';
import { random, root, sleep } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const PEOPLE = Number(opt('people', 1000));
const RATE = Number(opt('rate', 400));
const SECONDS = Number(opt('seconds', 10));
const OUT = opt('out', null);
const LIST = !args.includes('--no-list');
/** Another build of the CDN script to measure instead of dist/'s (e.g. a candidate fix). */
const BUNDLE = opt('bundle', join(root, 'dist', 'manifest.appwrite.presences.js'));
const KEY = 'bench-key';
const PROJECT = 'bench-render';
const log = (line) => process.stderr.write(`  ${line}\n`);

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>1 000 people</title>
<link rel="manifest" href="/manifest.json">
<script src="/vendor/appwrite.js"></script>
<script defer src="/vendor/manifest.appwrite.presences.js"></script>
<script defer src="/vendor/alpine.js"></script>
<style>li{display:flex;gap:.5em;align-items:center;font:14px system-ui}i{width:10px;height:10px;border-radius:50%}</style>
</head><body>
<div x-data>
  <p id="ready" x-text="$presence.ready"></p>
  <p><b x-text="$presence.list.length"></b> people</p>
  <ul id="roster">${
    LIST
      ? `
    <template x-for="person in $presence.list" :key="person.userId">
      <li><i :style="\`background:\${person.color}\`"></i><span x-text="person.metadata.name || 'Guest'"></span><small x-text="person.status"></small></li>
    </template>`
      : ''
  }
  </ul>
</div>
</body></html>`;

/** The floor: the same stream into a page with the bare SDK subscribed, no library, no rendering. */
const BARE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bare SDK</title>
<script src="/vendor/appwrite.js"></script></head><body><p id="n">0</p></body></html>`;

function site(endpoint) {
  const require = createRequire(join(root, 'package.json'));
  const dir = mkdtempSync(join(tmpdir(), 'presence-bench-'));
  cpSync(BUNDLE, join(dir, 'vendor', 'manifest.appwrite.presences.js'));
  cpSync(join(dirname(require.resolve('appwrite/package.json')), 'dist', 'iife', 'sdk.js'), join(dir, 'vendor', 'appwrite.js'));
  cpSync(join(dirname(require.resolve('alpinejs/package.json')), 'dist', 'cdn.js'), join(dir, 'vendor', 'alpine.js'));
  writeFileSync(join(dir, 'index.html'), PAGE);
  writeFileSync(join(dir, 'bare.html'), BARE);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ appwrite: { projectId: PROJECT, endpoint, auth: {}, presence: {} } }));
  return dir;
}

/** Updates random seeded people at `rate` per second until stopped; at most 64 requests in flight. */
function stream(admin, ids, rate) {
  const rnd = random(7);
  const statuses = ['online', 'busy', 'editing', 'reviewing', 'in a call'];
  let sent = 0;
  let failed = 0;
  let inflight = 0;
  let stopped = false;
  const t0 = Date.now();
  const tick = () => {
    if (stopped) return;
    const due = Math.floor(((Date.now() - t0) * rate) / 1000);
    while (sent < due && inflight < 64) {
      const userId = ids[Math.floor(rnd() * ids.length)];
      sent++;
      inflight++;
      admin.presences
        .update({ presenceId: `p${userId}`, userId, status: statuses[Math.floor(rnd() * statuses.length)] })
        .catch(() => failed++)
        .finally(() => inflight--);
    }
    setTimeout(tick, 5);
  };
  tick();
  return {
    stop: () => {
      stopped = true;
      return { sent, failed, seconds: (Date.now() - t0) / 1000 };
    },
  };
}

/** A browser context whose pages count the realtime messages they receive (CDP's Network domain would add its own cost). */
async function newContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__frames = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...a) {
        super(...a);
        this.addEventListener('message', () => window.__frames++);
      }
    };
  });
  return context;
}

async function measure(page, cdp, seconds) {
  await page.evaluate(() => {
    const w = window;
    w.__bench = { commits: 0, longTasks: 0, longTaskMs: 0 };
    new MutationObserver(() => w.__bench.commits++).observe(document.getElementById('roster'), { subtree: true, childList: true, characterData: true, attributes: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.__bench.longTasks++;
        w.__bench.longTaskMs += e.duration;
      }
    }).observe({ type: 'longtask' });
  });
  const frames0 = await page.evaluate(() => window.__frames);
  const task = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;
  const t0 = Date.now();
  const busy0 = await task();
  await sleep(seconds * 1000);
  const busy1 = await task();
  const wall = (Date.now() - t0) / 1000;
  const frames = (await page.evaluate(() => window.__frames)) - frames0;
  const b = await page.evaluate(() => window.__bench);
  return {
    seconds: wall,
    busyShare: (busy1 - busy0) / wall,
    commitsPerS: b.commits / wall,
    longTasks: b.longTasks,
    longTaskMsPerS: b.longTaskMs / wall,
    framesPerS: frames / wall,
  };
}

/**
 * BENCH_PROFILE=file.cpuprofile: record the page's CPU profile over the measured window (the bare
 * SDK page's goes to file.bare.cpuprofile). BENCH_TRACE=1: print the renderer main thread's time
 * by trace event, self time (nested events not counted twice), for both pages. Both add their own
 * cost to the busy share they watch.
 */
async function diagnose(cdp, label) {
  const profile = process.env.BENCH_PROFILE;
  const file = profile && label !== 'ours' ? profile.replace(/(\.cpuprofile)?$/, '.bare.cpuprofile') : profile;
  if (file) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  const trace = [];
  if (process.env.BENCH_TRACE) {
    cdp.on('Tracing.dataCollected', (data) => trace.push(...data.value));
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  }
  const t0 = Date.now();
  return {
    async stop() {
      const wall = Date.now() - t0;
      if (process.env.BENCH_TRACE) {
        const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
        await cdp.send('Tracing.end');
        await complete;
        if (process.env.BENCH_TRACE_DUMP) writeFileSync(`${process.env.BENCH_TRACE_DUMP}.${label.replace(/\W/g, '')}.json`, JSON.stringify(trace));
        log(`trace, ${label} page, renderer main thread, self time (tracing on: busy share inflated):`);
        for (const [name, us] of mainThreadSelfTime(trace).slice(0, 15)) log(`${(us / 1000).toFixed(0).padStart(6)} ms ${(us / 10 / wall).toFixed(1).padStart(5)} % ${name}`);
      }
      if (file) writeFileSync(file, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    },
  };
}

/** Complete ('X') events on CrRendererMain, each minus the events nested in it, summed by name, largest first. */
function mainThreadSelfTime(trace) {
  const main = new Set(trace.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const events = trace.filter((e) => e.ph === 'X' && e.dur !== undefined && main.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const self = new Map();
  const stack = [];
  for (const e of events) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent) self.set(parent.name, self.get(parent.name) - e.dur);
    self.set(e.name, (self.get(e.name) ?? 0) + e.dur);
    stack.push(e);
  }
  return [...self].sort((a, b) => b[1] - a[1]);
}

// Never outlive the budget: whatever happens, this process ends within 3 minutes.
setTimeout(() => {
  console.error('browser benchmark: watchdog fired after 180 s');
  process.exit(2);
}, 180_000).unref();

// The emulator serves the page and the API from one origin (as `npm start` does); its port is
// known once it listens, so manifest.json is written after.
const dir = site('http://127.0.0.1:0/v1');
const served = await startEmulatorProcess(['--api-key', KEY, '--static', dir]);
const endpoint = served.url;
writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ appwrite: { projectId: PROJECT, endpoint, auth: {}, presence: {} } }));
let browser;
const results = {};
try {
  const admin = keyClient(endpoint, PROJECT, KEY);
  const ids = await seedRoster(admin, PEOPLE - 1, { prefix: 'r' });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${served.origin}/index.html`);
  await page.waitForFunction(() => window.Alpine && window.ManifestPresence);
  await page.evaluate(async () => {
    const m = await (await fetch('/manifest.json')).json();
    const client = new window.Appwrite.Client().setEndpoint(m.appwrite.endpoint).setProject(m.appwrite.projectId);
    await new window.Appwrite.Account(client).createAnonymousSession();
  });
  const t0 = Date.now();
  const started = await page.evaluate(() => window.ManifestPresence.start());
  if (!started) throw new Error('start() failed in the page');
  // The count is on every page; the list only without --no-list.
  const shown = () => Number(document.querySelector('b').textContent);
  await page.waitForFunction(`(${shown})() >= ${PEOPLE}`, null, { timeout: 30_000 });
  results.people = await page.evaluate(shown);
  if (LIST && (await page.evaluate(() => document.querySelectorAll('#roster li').length)) !== results.people) throw new Error('the list does not show everyone');
  results.readyAndRenderedMs = Date.now() - t0;
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await sleep(1000);
  results.idle = await measure(page, cdp, Math.min(SECONDS, 5));
  const driver = stream(admin, ids, RATE);
  await sleep(2000);
  const diagnosis = await diagnose(cdp, 'ours');
  results.stream = await measure(page, cdp, SECONDS);
  await diagnosis.stop();
  await page.close();

  // The anchor: a bare SDK subscription in a fresh page (own session), same stream still running.
  const bareContext = await newContext(browser);
  const bare = await bareContext.newPage();
  await bare.goto(`${served.origin}/bare.html`);
  await bare.evaluate(async () => {
    const m = await (await fetch('/manifest.json')).json();
    const client = new window.Appwrite.Client().setEndpoint(m.appwrite.endpoint).setProject(m.appwrite.projectId);
    await new window.Appwrite.Account(client).createAnonymousSession();
    let n = 0;
    await new window.Appwrite.Realtime(client).subscribe('presences', () => n++);
    window.__events = () => n;
  });
  await bare.evaluate(() => {
    const roster = document.createElement('div');
    roster.id = 'roster';
    document.body.append(roster);
  });
  const bareCdp = await bareContext.newCDPSession(bare);
  await bareCdp.send('Performance.enable');
  await sleep(2000);
  const bareDiagnosis = await diagnose(bareCdp, 'bare SDK');
  results.bareSdk = await measure(bare, bareCdp, Math.min(SECONDS, 6));
  await bareDiagnosis.stop();
  results.sent = driver.stop();
  results.sent.perS = results.sent.sent / results.sent.seconds;
  results.rate = RATE;
  results.problems = problems.slice(0, 5);
} finally {
  await browser?.close();
  await served.close();
  rmSync(dir, { recursive: true, force: true });
}
log(`render: ${results.people} people, ${results.stream.framesPerS.toFixed(0)} frames/s received: busy ${(100 * results.stream.busyShare).toFixed(1)} %, ${results.stream.commitsPerS.toFixed(1)} commits/s (idle ${(100 * results.idle.busyShare).toFixed(1)} %; bare SDK page ${(100 * results.bareSdk.busyShare).toFixed(1)} % at ${results.bareSdk.framesPerS.toFixed(0)} frames/s)`);
const json = JSON.stringify(results, null, 2);
if (OUT) writeFileSync(OUT, json);
else console.log(json);
process.exit(0);
