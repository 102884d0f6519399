// Time to first token of a long prompt through the real `pensieve serve` and its streaming
// Messages API, as Claude Code's first request sees it. Starts the server, builds a prompt of about
// the asked number of tokens (calibrated with /v1/messages/count_tokens), sends it once streamed
// with max_tokens 1, and prints one JSON line per prompt size:
//   node bench/serve/long_prompt.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        --tokens 21000 [--tokens 4096 …] [--threads 2] [-- extra serve args]
import { spawn } from 'node:child_process';
import net from 'node:net';

function parseArgs(argv) {
  const args = { tokens: [], serveArgs: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--') { args.serveArgs = argv.slice(i + 1); break; }
    const value = argv[++i];
    if (a === '--bin') args.bin = value;
    else if (a === '--model') args.model = value;
    else if (a === '--tokens') args.tokens.push(Number(value));
    else if (a === '--threads') args.threads = value;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.bin || !args.model || args.tokens.length === 0) {
    throw new Error('usage: long_prompt.mjs --bin PENSIEVE --model MODEL --tokens N [--tokens N …] [--threads T] [-- serve args]');
  }
  return args;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on('error', reject);
  });
}

// Varied English-like text, so the tokenizer sees ordinary words rather than one repeated piece.
function text(words) {
  const vocab = ['the', 'model', 'reads', 'a', 'long', 'prompt', 'of', 'tools', 'and', 'files', 'while',
    'it', 'plans', 'each', 'step', 'carefully', 'function', 'returns', 'value', 'error', 'request', 'cache',
    'memory', 'thread', 'kernel', 'server', 'client', 'token', 'stream', 'event', 'json', 'schema'];
  let seed = 12345;
  const out = [];
  for (let i = 0; i < words; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out.push(vocab[seed % vocab.length] + (i % 17 === 16 ? '.\n' : ''));
  }
  return out.join(' ');
}

async function countTokens(base, content) {
  const r = await fetch(`${base}/v1/messages/count_tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content }] }),
  });
  if (!r.ok) throw new Error(`count_tokens: ${r.status} ${await r.text()}`);
  return (await r.json()).input_tokens;
}

async function promptOf(base, tokens) {
  let words = Math.round(tokens * 0.8);
  for (let i = 0; i < 4; ++i) {
    const n = await countTokens(base, text(words));
    if (Math.abs(n - tokens) <= tokens * 0.01) break;
    words = Math.round(words * tokens / n);
  }
  return text(words);
}

async function timeToFirstToken(base, content) {
  const start = performance.now();
  const r = await fetch(`${base}/v1/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', max_tokens: 1, stream: true, messages: [{ role: 'user', content }] }),
  });
  if (!r.ok) throw new Error(`messages: ${r.status} ${await r.text()}`);
  const decoder = new TextDecoder();
  let buffer = '', first = null, inputTokens = null;
  for await (const chunk of r.body) {
    buffer += decoder.decode(chunk, { stream: true });
    if (inputTokens === null) {
      const m = buffer.match(/"input_tokens":(\d+)/);
      if (m) inputTokens = Number(m[1]);
    }
    if (first === null && /event: content_block_(start|delta)/.test(buffer)) first = performance.now();
  }
  return { seconds: ((first ?? performance.now()) - start) / 1000, inputTokens };
}

const args = parseArgs(process.argv.slice(2));
const port = await freePort();
const serveArgs = ['serve', '--model', args.model, '--port', String(port), ...args.serveArgs];
if (args.threads) serveArgs.push('--threads', args.threads);
const child = spawn(args.bin, serveArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
child.stderr.on('data', (d) => { log += d; });
const base = `http://127.0.0.1:${port}`;
try {
  for (let waited = 0; ; waited += 200) {
    if (child.exitCode !== null) throw new Error(`pensieve serve exited:\n${log}`);
    try { if ((await fetch(`${base}/api/hello`, { method: 'HEAD' })).ok) break; } catch {}
    if (waited > 120000) throw new Error(`pensieve serve did not come up:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const tokens of args.tokens) {
    const content = await promptOf(base, tokens);
    const { seconds, inputTokens } = await timeToFirstToken(base, content);
    console.log(JSON.stringify({ model: args.model, prompt_tokens: inputTokens, ttft_s: Number(seconds.toFixed(2)),
      prompt_tokens_per_s: Number((inputTokens / seconds).toFixed(1)) }));
  }
} finally {
  child.kill('SIGTERM');
}
