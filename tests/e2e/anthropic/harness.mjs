// Starts the real `pensieve serve` for a test and stops it afterwards. Paths come from CTest's
// environment (PENSIEVE_BIN, PENSIEVE_FIXTURES, MAKE_CHAT_MODEL, E2E_WORK_DIR).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';

export const fixtures = process.env.PENSIEVE_FIXTURES ?? path.resolve('../../../../shared/fixtures');
export const workDir = process.env.E2E_WORK_DIR ?? '/tmp/pensieve-e2e';
// The model name clients send; `claude-*` names are served by whatever model is loaded.
export const MODEL = 'claude-opus-5-5';
export const user = (text) => [{ role: 'user', content: text }];

// Output tokens of a finished message: up to max_tokens, exactly that when it stopped there, and
// at least one unless the model ended its turn at once — the random-weight models, sampled with
// a fresh seed, sometimes draw the end token first (the small model about one request in a
// hundred), and the end token is not output.
export function assertOutputTokens(usage, stopReason, maxTokens) {
  const least = stopReason === 'end_turn' ? 0 : 1;
  assert.ok(usage.output_tokens >= least && usage.output_tokens <= maxTokens, `${stopReason}: ${JSON.stringify(usage)}`);
  if (stopReason === 'max_tokens') assert.equal(usage.output_tokens, maxTokens);
}

export function smallModel() {
  return path.join(fixtures, 'models', 'qwen3-q8_0.gguf');
}

// The long-context chat model: the GPT-2 vocabulary (qwen2 pre-tokenizer) with Qwen3's special
// tokens and template, one small random layer. Built by CTest's e2e.anthropic.chat_model fixture;
// built here when missing (a test run by hand), into a temporary name first so that a
// concurrent reader never sees half a file.
export const CHAT_MODEL_CONTEXT = 262144;
let chatModelPath;
export function chatModel() {
  if (chatModelPath) return chatModelPath;
  mkdirSync(workDir, { recursive: true });
  const out = path.join(workDir, 'e2e-qwen3-chat.gguf');
  if (!existsSync(out)) buildChatModel(out);
  chatModelPath = out;
  return out;
}

export function buildChatModel(out) {
  if (!process.env.MAKE_CHAT_MODEL) throw new Error('MAKE_CHAT_MODEL is not set (run through ctest)');
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(process.env.MAKE_CHAT_MODEL, [
    path.join(fixtures, 'vocab', 'ggml-vocab-gpt-2.gguf'),  // make_chat_model sets the qwen2 pre-tokenizer
    path.join(fixtures, 'chat', 'templates', 'Qwen-Qwen3-0.6B.jinja'),
    tmp,
    String(CHAT_MODEL_CONTEXT),
  ]);
  renameSync(tmp, out);
}

// A chat model like chatModel() (4096 tokens of context) but with another family's template and
// the control tokens it writes; built afresh once per test process, so it follows make_chat_model.
const familyModels = new Map();
export function familyModel(templateName, controlTokens = []) {
  if (familyModels.has(templateName)) return familyModels.get(templateName);
  if (!process.env.MAKE_CHAT_MODEL) throw new Error('MAKE_CHAT_MODEL is not set (run through ctest)');
  mkdirSync(workDir, { recursive: true });
  const out = path.join(workDir, `e2e-${templateName}.${process.pid}.gguf`);
  execFileSync(process.env.MAKE_CHAT_MODEL, [
    path.join(fixtures, 'vocab', 'ggml-vocab-gpt-2.gguf'),
    path.join(fixtures, 'chat', 'templates', `${templateName}.jinja`),
    out,
    '4096',
    ...controlTokens,
  ]);
  familyModels.set(templateName, out);
  process.on('exit', () => rmSync(out, { force: true }));
  return out;
}

// A free port outside the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), for
// a command that must be given its port (`pensieve claude --port`) or a server that must come back
// on the same address. The kernel hands out ephemeral ports only — to servers on port 0 and to
// outgoing connections — so no other test takes this one between our finding it free and the
// command binding it, nor while it is closed; only a program naming it could. Where the ephemeral
// range covers every port, any port the kernel finds free (with those races).
export async function freePort() {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const [first, last] = high < 65535 ? [high + 1, 65535] : [1024, low - 1];
  if (last < first) return listenOnce(0);
  for (let tries = 1; ; tries += 1) {
    try {
      return await listenOnce(first + Math.floor(Math.random() * (last - first + 1)));
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || tries === 50) throw e;  // in use: a program chose it; draw again
    }
  }
}

// Listens on `port` of 127.0.0.1 and closes again; the port it listened on.
function listenOnce(port) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const bound = srv.address().port;
      srv.close(() => resolve(bound));
    });
  });
}

// The port a `pensieve serve --port 0` bound, from its "serving … on http://HOST:PORT" line; null
// until that line is in `log`. Servers start on port 0, never on a port found free beforehand:
// the server binds only after loading its model, and meanwhile another test's server or a
// client's connection could take a port that was free a moment before.
export function servedPort(log) {
  const m = log.match(/ serving .* on http:\/\/[^\s/]+:(\d+)\D/);  // \D: the whole number has come
  return m ? Number(m[1]) : null;
}

// The servers' default prompt cache folder ($XDG_CACHE_HOME/pensieve/prompts): one temporary folder
// per test process, so tests never write to the user's cache nor find each other's files.
let cacheHome = null;
function testCacheHome() {
  cacheHome ??= mkdtempSync(path.join(tmpdir(), 'pensieve-e2e-cache-'));
  return cacheHome;
}
process.on('exit', () => {
  if (cacheHome) rmSync(cacheHome, { recursive: true, force: true });
});

function spawnServe(port, args) {
  if (!process.env.PENSIEVE_BIN) throw new Error('PENSIEVE_BIN is not set (run through ctest)');
  const child = spawn(process.env.PENSIEVE_BIN, ['serve', '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CACHE_HOME: testCacheHome() },
  });
  const state = { log: '' };
  child.stdout.on('data', (d) => (state.log += d));
  child.stderr.on('data', (d) => (state.log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, state, exited };
}

export async function startServer(model, extraArgs = []) {
  return startServing(['--model', model, ...extraArgs]);
}

// `pensieve serve --upstream URL…`: a front that serves from the given servers.
export async function startFront(upstreamURLs, extraArgs = []) {
  return startServing([...upstreamURLs.flatMap((u) => ['--upstream', u]), ...extraArgs]);
}

async function startServing(args) {
  const { child, state, exited } = spawnServe(0, args);
  const deadline = Date.now() + 60_000;
  let port = null;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pensieve serve exited early:\n${state.log}`);
    port ??= servedPort(state.log);
    if (port !== null) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/hello`, { method: 'HEAD' });
        if (r.status === 200) break;
      } catch {}
    }
    if (Date.now() > deadline) throw new Error(`pensieve serve did not come up:\n${state.log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const baseURL = `http://127.0.0.1:${port}`;
  return {
    baseURL,
    port,
    exited,
    log: () => state.log,
    signal(name) {
      child.kill(name);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

// Runs `pensieve serve` expecting it to refuse to start; resolves with its exit code and log.
export async function serveExpectingExit(model, extraArgs, timeoutMs = 30_000) {
  const { child, state, exited } = spawnServe(0, model === null ? extraArgs : ['--model', model, ...extraArgs]);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await exited;
  clearTimeout(timer);
  return { code, signal, log: state.log };
}

// Requests the server logged as rejected (status >= 400).
export function rejectedLines(log) {
  return log.split('\n').filter((l) => l.includes(' rejected:'));
}

// Waits until the server's log has a line matching `re` (log lines may trail the response).
export async function logLine(server, re, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = server.log().split('\n').find((l) => re.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line matching ${re}:\n${server.log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The events of a raw SSE response, each with the time (ms since `t0`) it arrived.
export async function* sseEvents(response, t0 = Date.now()) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = frame.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      yield { event, data: data === undefined ? undefined : JSON.parse(data), at: Date.now() - t0 };
    }
  }
  if (buffer.trim() !== '') throw new Error(`stream ended inside a frame: ${JSON.stringify(buffer)}`);
}

export function postMessages(baseURL, body, headers = {}) {
  return fetch(`${baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
