// Latency of short requests, one after another, each on a new connection: p50/p99/max and how
// many took over 50 ms. Streamed by default (what a lost wake-up in the connection shows in).
//   node bench/serve/stream_latency.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--requests 150] [--route messages|chat] [--whole]
import { parseFlags, startServe } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--requests': 'requests', '--route': 'route', '--whole': 'whole' },
  { bin: undefined, model: undefined, requests: 150, route: 'messages', whole: false });
if (!args.bin || !args.model) throw new Error('usage: stream_latency.mjs --bin PENSIEVE --model MODEL [--requests N] [--route messages|chat] [--whole]');

const server = await startServe(args.bin, args.model, { serveArgs: ['--parallel', '1', '--ctx-size', '2048'] });
const path = args.route === 'chat' ? '/v1/chat/completions' : '/v1/messages';
const times = [];
for (let i = 0; i < Number(args.requests); i += 1) {
  const body = { model: 'm', max_tokens: 8, temperature: 0, stream: !args.whole,
    messages: [{ role: 'user', content: `Round ${i}: hello` }] };
  const t0 = performance.now();
  const r = await fetch(server.base + path, {
    method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body),
  });
  await r.text();
  times.push(performance.now() - t0);
}
await server.stop();
times.sort((a, b) => a - b);
const at = (p) => Number(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(2));
console.log(JSON.stringify({ route: path, streamed: !args.whole, requests: times.length, p50_ms: at(50), p99_ms: at(99),
  max_ms: Number(times.at(-1).toFixed(2)), over_50_ms: times.filter((t) => t > 50).length }));
