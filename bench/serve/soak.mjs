// Memory honesty under a mixed load, through HTTP only: --clients clients (32) send, for --seconds
// (120), a seeded mix of
// - good requests: small /v1/messages, streamed and not, and /v1/messages/count_tokens; each must
//   get a 200 and a complete answer (a stop reason and output tokens; for a stream, message_stop
//   and no error event);
// - bad ones: malformed JSON, fields of the wrong type, missing fields: each must get a 400;
// - huge ones: users' text of 4, 16 or 30 MB far too long for the context (400), sent with a length
//   or in chunks; a body over the 32 MiB limit, with a length or in chunks (413, or the connection
//   closed by the server); and a 4 MB body of ignored small JSON objects around a good request,
//   which must be answered like a good one.
// The server's RSS (VmRSS from /proc) is read once idle before the load, every 100 ms during it,
// and once idle after it (a second after the last response and after the next heap release the
// server reports in /metrics). Prints one JSON line; exits 1 when a request did not get what it
// should have, or when idle RSS ended more than --slack-mib (32) above its start.
// The server refuses unread a body longer than any prompt its context could hold, so the huge
// bodies are read (and refused with a 400 once parsed) only with a long enough context: with the
// qwen3-q8_0 fixture, --ctx-size 458752 lets bodies up to the 32 MiB limit in.
//   node bench/serve/soak.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--seconds 120] [--clients 32] [--seed 1] [--slack-mib 32] [--threads T] \
//        [-- serve args, e.g. --ctx-size 458752 --cache-dir off]
import { readFileSync } from 'node:fs';
import { parseFlags, startServe } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--seconds': 'seconds', '--clients': 'clients', '--seed': 'seed',
    '--slack-mib': 'slackMib', '--threads': 'threads' },
  { bin: undefined, model: undefined, seconds: 120, clients: 32, seed: 1, slackMib: 32, threads: undefined });
if (!args.bin || !args.model) {
  throw new Error('usage: soak.mjs --bin PENSIEVE --model MODEL [--seconds S] [--clients N] [--seed K] '
    + '[--slack-mib M] [--threads T] [-- serve args]');
}
const kMiB = 1024 * 1024;
const kRequestTimeoutMs = 120_000;  // a request that takes longer is a failure, not a hang

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes) => Number((bytes / kMiB).toFixed(1));

function procStatus(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

// A seeded generator, so that a run can be repeated request for request (per client).
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const message = (extra = {}) => ({
  model: 'soak', max_tokens: 16, temperature: 0,
  messages: [{ role: 'user', content: 'Say something about lighthouses.' }], ...extra,
});

// The huge bodies, built once and shared by every client.
const tooLong = Object.fromEntries([4, 16, 30].map((mb) => [mb, Buffer.from(JSON.stringify(
  message({ messages: [{ role: 'user', content: 'lighthouse '.repeat(Math.floor(mb * kMiB / 11)) }] })))]));
const overLimit = Buffer.alloc(36 * kMiB, 'x');
// About 4 MB: each object below is 30–36 bytes of JSON.
const padding = Array.from({ length: 4 * kMiB / 32 }, (_, n) => ({ key: `value ${n}`, n }));
const padded = Buffer.from(JSON.stringify(message({ metadata_padding: padding })));

// A body sent in chunks of 1 MiB (Transfer-Encoding: chunked, no length).
function chunked(buffer) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= buffer.length) { controller.close(); return; }
      controller.enqueue(buffer.subarray(at, at + kMiB));
      at += kMiB;
    },
  });
}

// Each kind: its share of the mix, its class, what it sends and what it must get back.
const kinds = [
  { name: 'message', weight: 25, cls: 'good', path: '/v1/messages', body: () => JSON.stringify(message()), check: completeMessage },
  { name: 'stream', weight: 25, cls: 'good', path: '/v1/messages', body: () => JSON.stringify(message({ stream: true })), check: completeStream },
  { name: 'count_tokens', weight: 10, cls: 'good', path: '/v1/messages/count_tokens', body: () => JSON.stringify(message()), check: counted },
  { name: 'malformed_json', weight: 7, cls: 'bad', path: '/v1/messages', body: () => '{"model": "soak", "messages": [', check: status(400) },
  { name: 'wrong_types', weight: 7, cls: 'bad', path: '/v1/messages', body: () => JSON.stringify(message({ max_tokens: 'sixteen', model: 7 })), check: status(400) },
  { name: 'missing_messages', weight: 6, cls: 'bad', path: '/v1/messages', body: () => JSON.stringify({ model: 'soak', max_tokens: 16 }), check: status(400) },
  { name: 'too_long_4mb', weight: 3, cls: 'huge', path: '/v1/messages', body: () => tooLong[4], check: status(400) },
  { name: 'too_long_16mb_chunked', weight: 3, cls: 'huge', path: '/v1/messages', body: () => chunked(tooLong[16]), check: status(400) },
  { name: 'too_long_30mb', weight: 2, cls: 'huge', path: '/v1/messages', body: () => tooLong[30], check: status(400) },
  { name: 'too_long_30mb_chunked', weight: 1, cls: 'huge', path: '/v1/messages', body: () => chunked(tooLong[30]), check: status(400) },
  { name: 'padded_4mb', weight: 2, cls: 'huge', path: '/v1/messages', body: () => padded, check: completeMessage },
  { name: 'over_limit', weight: 1, cls: 'huge', path: '/v1/messages', body: () => overLimit, check: refusedOrClosed },
  { name: 'over_limit_chunked', weight: 1, cls: 'huge', path: '/v1/messages', body: () => chunked(overLimit), check: refusedOrClosed },
];
const totalWeight = kinds.reduce((sum, k) => sum + k.weight, 0);
function pick(rand) {
  let r = rand() * totalWeight;
  for (const k of kinds) if ((r -= k.weight) < 0) return k;
  return kinds[kinds.length - 1];
}

// Checks take the response (null when the request failed before one came) and the error; they
// return null when all is well, else what went wrong.
function status(expected) {
  return async (r, error) => {
    if (!r) return `no response: ${error}`;
    const text = await r.text();
    return r.status === expected ? null : `status ${r.status}, expected ${expected}: ${text.slice(0, 200)}`;
  };
}
async function completeMessage(r, error) {
  if (!r) return `no response: ${error}`;
  const text = await r.text();
  if (r.status !== 200) return `status ${r.status}: ${text.slice(0, 200)}`;
  const m = JSON.parse(text);
  if (m.type !== 'message' || !Array.isArray(m.content) || !m.stop_reason || !(m.usage?.output_tokens > 0)) {
    return `incomplete message: ${text.slice(0, 200)}`;
  }
  return null;
}
async function completeStream(r, error) {
  if (!r) return `no response: ${error}`;
  if (r.status !== 200) return `status ${r.status}: ${(await r.text()).slice(0, 200)}`;
  const text = await r.text();
  // Pings may come anywhere, before message_start too while the request waits for a slot.
  const events = text.split('\n').filter((l) => l.startsWith('event: ')).map((l) => l.slice(7))
    .filter((e) => e !== 'ping');
  if (events.includes('error')) return `error event: ${text.slice(text.indexOf('event: error'), 300)}`;
  const delta = /event: message_delta\ndata: (.*)\n/.exec(text);
  const stop = delta ? JSON.parse(delta[1]).delta?.stop_reason : null;
  if (events[0] !== 'message_start' || events[events.length - 1] !== 'message_stop' || !stop) {
    return `incomplete stream (${events.join(',')})`;
  }
  return null;
}
async function counted(r, error) {
  if (!r) return `no response: ${error}`;
  const text = await r.text();
  if (r.status !== 200) return `status ${r.status}: ${text.slice(0, 200)}`;
  return Number.isInteger(JSON.parse(text).input_tokens) ? null : `no input_tokens: ${text.slice(0, 200)}`;
}
// Over the limit the server may answer 413 or close the connection while the body still flows.
async function refusedOrClosed(r, error) {
  if (!r) return /closed|reset|EPIPE|socket|terminated/i.test(String(error?.cause ?? error)) ? null : `no response: ${error}`;
  await r.text().catch(() => {});
  return r.status === 413 ? null : `status ${r.status}, expected 413`;
}

async function send(base, kind) {
  let r = null, error = null;
  try {
    r = await fetch(base + kind.path, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: kind.body(), duplex: 'half',
      signal: AbortSignal.timeout(kRequestTimeoutMs),
    });
  } catch (e) {
    error = e;
  }
  try {
    return await kind.check(r, error);
  } catch (e) {
    return `reading the answer: ${e.cause ?? e}`;
  }
}

// The server's heap-release counter (pensieve_memory_heap_releases_total), or null without one.
async function heapReleases(base) {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = /^pensieve_memory_heap_releases_total (\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// What the KV cache pool holds (cached prompts stay between requests by design), from /health.
async function kvCacheBytes(base) {
  try {
    return (await (await fetch(`${base}/health`)).json()).memory?.kv_cache_bytes ?? null;
  } catch {
    return null;
  }
}

// Idle RSS, and its anonymous and file-backed parts: a second after the last response, and after
// a heap release that began later still.
async function idleRss(base, pid) {
  await sleep(1000);
  const before = await heapReleases(base);
  for (let waited = 0; before !== null && waited < 10_000; waited += 50) {
    const now = await heapReleases(base);
    if (now !== null && now > before) break;
    await sleep(50);
  }
  return { rss: procStatus(pid, 'VmRSS'), anon: procStatus(pid, 'RssAnon'), file: procStatus(pid, 'RssFile'),
    kv: await kvCacheBytes(base) };
}

const server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs: args.serveArgs });
let exitCode = 0;
try {
  // One of each good kind first: the weights paged in and lazily built state in place.
  for (const k of kinds.filter((k) => k.cls === 'good')) {
    const problem = await send(server.base, k);
    if (problem) throw new Error(`warm-up ${k.name}: ${problem}`);
  }
  const start = await idleRss(server.base, server.pid);
  const startRss = start.rss;
  let peakRss = startRss;
  const sampler = setInterval(() => {
    try { peakRss = Math.max(peakRss, procStatus(server.pid, 'VmRSS')); } catch {}
  }, 100);

  const counts = {};
  for (const k of kinds) counts[k.name] = { sent: 0, ok: 0 };
  const failures = [];
  const started = performance.now();
  const until = started + args.seconds * 1000;
  await Promise.all(Array.from({ length: args.clients }, async (_, client) => {
    const rand = random(args.seed * 1000 + client);
    while (performance.now() < until) {
      const kind = pick(rand);
      counts[kind.name].sent += 1;
      const problem = await send(server.base, kind);
      if (problem) failures.push({ kind: kind.name, problem });
      else counts[kind.name].ok += 1;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, procStatus(server.pid, 'VmHWM'));
  const end = await idleRss(server.base, server.pid);
  const endRss = end.rss;

  const byClass = {};
  for (const k of kinds) {
    const c = (byClass[k.cls] ??= { sent: 0, ok: 0 });
    c.sent += counts[k.name].sent;
    c.ok += counts[k.name].ok;
  }
  const withinSlack = endRss <= startRss + args.slackMib * kMiB;
  console.log(JSON.stringify({
    clients: args.clients, seconds: Number(elapsed.toFixed(1)), seed: args.seed,
    start_rss_mib: mib(startRss), peak_rss_mib: mib(peakRss), idle_rss_after_mib: mib(endRss),
    idle_growth_mib: mib(endRss - startRss), within_slack: withinSlack,
    rss_anon_mib: [mib(start.anon), mib(end.anon)], rss_file_mib: [mib(start.file), mib(end.file)],
    kv_cache_mib: [start.kv, end.kv].map((b) => (b === null ? null : mib(b))),
    good: byClass.good, bad: byClass.bad, huge: byClass.huge, by_kind: counts,
    failures: failures.length, first_failures: failures.slice(0, 10),
  }));
  if (failures.length > 0 || !withinSlack) exitCode = 1;
} finally {
  await server.stop();
}
process.exit(exitCode);
