// What a `pensieve serve --upstream` front adds to a request and to each streamed token, measured
// against the same requests sent straight to the upstream, interleaved (one direct, one through
// the front, per round). Two upstreams on loopback:
// - stand_in: an in-process OpenAI-compatible stand-in that answers at once (no model), so that
//   the difference is the front alone: per request (non-streaming, a two-token answer) and per
//   token (a stream of --tokens chunks, its time divided by the tokens).
// - pensieve: a real `pensieve serve` on --model, per request (time to the last byte of a
//   non-streaming answer of --max-tokens) and time to first token of a stream.
// Prints one JSON line per case with p50/p99 of direct, front and the added time (front − direct
// of the same round).
//   node bench/serve/upstream_front.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--rounds 200] [--tokens 2000] [--max-tokens 8]
import { parseFlags, startServe, freePort } from './server.mjs';
import { spawn } from 'node:child_process';
import { startStandIn } from '../../tests/e2e/anthropic/upstream_stand_in.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--rounds': 'rounds', '--tokens': 'tokens', '--max-tokens': 'maxTokens' },
  { bin: undefined, model: undefined, rounds: 200, tokens: 2000, maxTokens: 8 });
if (!args.bin || !args.model) throw new Error('usage: upstream_front.mjs --bin PENSIEVE --model MODEL [--rounds R] [--tokens N] [--max-tokens N]');

async function startFront(upstream) {
  const port = await freePort();
  const child = spawn(args.bin, ['serve', '--upstream', upstream, '--port', String(port), '--upstream-model', 'm'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) throw new Error(`front exited:\n${log}`);
    try { if ((await fetch(`${base}/api/hello`, { method: 'HEAD' })).ok) break; } catch {}
    if (waited > 30000) throw new Error(`front did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { base, stop: () => { child.kill('SIGTERM'); return exited; } };
}

const chat = (base, body) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
const messages = (base, body) => fetch(`${base}/v1/messages`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

// Milliseconds to the whole answer and to its first content (streams), reading every byte.
async function timed(send, marker) {
  const t0 = performance.now();
  const r = await send();
  let first = null;
  const decoder = new TextDecoder();
  for await (const piece of r.body) {
    if (first === null && decoder.decode(piece).includes(marker)) first = performance.now() - t0;
  }
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  return { total: performance.now() - t0, first };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function report(name, direct, front, unit = 'ms', scale = 1) {
  const added = front.map((f, i) => f - direct[i]);
  const fmt = (v) => Number((v * scale).toFixed(4));
  console.log(JSON.stringify({
    case: name, unit, rounds: direct.length,
    direct_p50: fmt(percentile(direct, 50)), direct_p99: fmt(percentile(direct, 99)),
    front_p50: fmt(percentile(front, 50)), front_p99: fmt(percentile(front, 99)),
    added_p50: fmt(percentile(added, 50)), added_p99: fmt(percentile(added, 99)),
  }));
}

async function interleaved(rounds, direct, front) {
  const d = [];
  const f = [];
  for (let i = 0; i < 5; i += 1) { await direct(i); await front(i); }  // warm-up
  for (let i = 0; i < rounds; i += 1) { d.push(await direct(i)); f.push(await front(i)); }
  return [d, f];
}

// 1. The stand-in: the front alone.
const standIn = await startStandIn();
const frontS = await startFront(standIn.url);
{
  // The stand-in speaks only OpenAI: direct is its chat completion, the front's is a Messages request.
  const small = { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
  const [d, f] = await interleaved(args.rounds,
    async () => (await timed(() => chat(standIn.url, small), '"content"')).total,
    async () => (await timed(() => messages(frontS.base, small), 'text')).total);
  report('stand_in_request', d, f);
  standIn.state.tokens = args.tokens;
  const rounds = Math.max(10, Math.floor(args.rounds / 10));
  const [ds, fs] = await interleaved(rounds,
    async () => (await timed(() => chat(standIn.url, { ...small, stream: true }), 'word')).total,
    async () => (await timed(() => messages(frontS.base, { ...small, stream: true }), 'word')).total);
  report('stand_in_per_token', ds, fs, 'us', 1000 / args.tokens);
  standIn.state.tokens = 0;
}
await frontS.stop();
await standIn.close();

// 2. A real pensieve upstream on the model.
const upstream = await startServe(args.bin, args.model, { serveArgs: ['--parallel', '1'] });
const frontP = await startFront(upstream.base);
{
  const body = (i) => ({ model: 'm', max_tokens: args.maxTokens, temperature: 0,
    messages: [{ role: 'user', content: `Round ${i}: hello` }] });
  const [d, f] = await interleaved(args.rounds,
    async (i) => (await timed(() => messages(upstream.base, body(i)), 'text')).total,
    async (i) => (await timed(() => messages(frontP.base, body(i)), 'text')).total);
  report('pensieve_request', d, f);
  const [dt, ft] = await interleaved(args.rounds,
    async (i) => (await timed(() => messages(upstream.base, { ...body(i), stream: true }), 'content_block_delta')).first,
    async (i) => (await timed(() => messages(frontP.base, { ...body(i), stream: true }), 'content_block_delta')).first);
  report('pensieve_first_token', dt, ft);
}
await frontP.stop();
await upstream.stop();
