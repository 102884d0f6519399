// What the serve benchmarks share: a free port, a `pensieve serve` child that is up before the
// first request, varied English-like text, and token counts through /v1/messages/count_tokens.
import { spawn } from 'node:child_process';
import net from 'node:net';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

// Command-line flags `--name value` into args[key] for each [flag, key] of `flags` (numbers where
// `defaults` holds a number, arrays where it holds an array: the flag may repeat; true, taking no
// value, where it holds a boolean); everything after `--` goes to args.serveArgs. Unknown flags are
// errors.
export function parseFlags(argv, flags, defaults) {
  const args = { ...defaults, serveArgs: [] };
  for (const key of Object.keys(defaults)) if (Array.isArray(defaults[key])) args[key] = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--') { args.serveArgs = argv.slice(i + 1); break; }
    const key = flags[argv[i]];
    if (key === undefined) throw new Error(`unknown argument ${argv[i]}`);
    if (typeof defaults[key] === 'boolean') { args[key] = true; continue; }
    const value = argv[++i];
    if (Array.isArray(defaults[key])) args[key].push(Number(value));
    else args[key] = typeof defaults[key] === 'number' ? Number(value) : value;
  }
  return args;
}

// Starts `bin serve --model model` on a free port and waits for it to answer; returns its base URL
// and a stop(), with its process id (pid) for readings from /proc.
export async function startServe(bin, model, { threads, serveArgs = [] } = {}) {
  const port = await freePort();
  const args = ['serve', '--model', model, '--port', String(port), ...serveArgs];
  if (threads) args.push('--threads', threads);
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 200) {
    if (child.exitCode !== null) throw new Error(`pensieve serve exited:\n${log}`);
    try { if ((await fetch(`${base}/api/hello`, { method: 'HEAD' })).ok) break; } catch {}
    if (waited > 120000) { child.kill('SIGTERM'); throw new Error(`pensieve serve did not come up:\n${log}`); }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // stop() resolves once the server has exited (it saves its prompt cache on the way out).
  return { base, pid: child.pid, log: () => log, stop: () => { child.kill('SIGTERM'); return exited; } };
}

// Varied English-like text, so the tokenizer sees ordinary words rather than one repeated piece;
// `seed` picks the sequence.
export function text(words, seed = 12345) {
  const vocab = ['the', 'model', 'reads', 'a', 'long', 'prompt', 'of', 'tools', 'and', 'files', 'while',
    'it', 'plans', 'each', 'step', 'carefully', 'function', 'returns', 'value', 'error', 'request', 'cache',
    'memory', 'thread', 'kernel', 'server', 'client', 'token', 'stream', 'event', 'json', 'schema'];
  const out = [];
  for (let i = 0; i < words; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out.push(vocab[seed % vocab.length] + (i % 17 === 16 ? '.\n' : ''));
  }
  return out.join(' ');
}

// A response's prompt as the API splits it: computed = written to the cache + neither.
export function computedTokens(usage) {
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0);
}
export function promptTokens(usage) {
  return computedTokens(usage) + (usage.cache_read_input_tokens ?? 0);
}

export async function countTokens(base, body) {
  const r = await fetch(`${base}/v1/messages/count_tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench', ...body }),
  });
  if (!r.ok) throw new Error(`count_tokens: ${r.status} ${await r.text()}`);
  return (await r.json()).input_tokens;
}

// Text of about `tokens` tokens as one user message (calibrated to within 1%).
export async function textOfTokens(base, tokens, seed) {
  let words = Math.round(tokens * 0.8);
  for (let i = 0; i < 4; ++i) {
    const n = await countTokens(base, { messages: [{ role: 'user', content: text(words, seed) }] });
    if (Math.abs(n - tokens) <= tokens * 0.01) break;
    words = Math.round(words * tokens / n);
  }
  return text(words, seed);
}

// Sends one streamed request; returns the seconds to the first content event, the text, the final
// usage (message_delta's totals over message_start's) and the stop reason. For timing it also
// returns `start`, `times` (the performance.now() of each content delta: about one per token, though
// a token that ends inside a UTF-8 character arrives with the next) and `end` (when message_delta
// came: the last token, even one that prints nothing such as the end token). `onDelta(count)` runs
// after each delta, so a caller can act part-way through a stream. An error event mid-stream throws.
export async function streamMessage(base, body, { onDelta } = {}) {
  const start = performance.now();
  const r = await fetch(`${base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', stream: true, ...body }),
  });
  if (!r.ok) throw new Error(`messages: ${r.status} ${await r.text()}`);
  const decoder = new TextDecoder();
  let buffer = '', first = null, answer = '', usage = {}, stopReason = null, end = null;
  const times = [];
  for await (const chunk of r.body) {
    const now = performance.now();
    buffer += decoder.decode(chunk, { stream: true });
    if (first === null && /event: content_block_(start|delta)/.test(buffer)) first = now;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const ev = JSON.parse(data.slice(6));
      if (ev.type === 'error') throw new Error(`messages stream: ${JSON.stringify(ev.error)}`);
      if (ev.type === 'message_start') usage = { ...ev.message.usage };
      if (ev.type === 'message_delta') {
        usage = { ...usage, ...ev.usage };
        stopReason = ev.delta.stop_reason;
        end = now;
      }
      if (ev.type === 'content_block_delta') {
        if (ev.delta.type === 'text_delta') answer += ev.delta.text;
        times.push(now);
        onDelta?.(times.length);
      }
    }
  }
  end ??= performance.now();
  return { seconds: ((first ?? end) - start) / 1000, answer, usage, stopReason, start, times, end };
}
