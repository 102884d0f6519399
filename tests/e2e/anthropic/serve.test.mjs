// `pensieve serve` as an operator meets it: keys, the bind policy, the queue limit, signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Anthropic from '@anthropic-ai/sdk';
import {
  startServer, serveExpectingExit, servedPort, smallModel, sseEvents, postMessages, logLine, rejectedLines, MODEL, user,
} from './harness.mjs';

// Greedy decoding of this prompt on the fixture model runs to max_tokens: seconds of work.
const longGeneration = (max_tokens = 3000) => ({
  model: MODEL, max_tokens, temperature: 0, stream: true, messages: user('Go on and on'),
});

async function firstDelta(iterator) {
  for (;;) {
    const { value, done } = await iterator.next();
    assert.ok(!done, 'stream ended before its first delta');
    if (value.event === 'content_block_delta') return;
  }
}

test('API keys: 401 envelope without or with a wrong key; x-api-key and Bearer accepted', async () => {
  const server = await startServer(smallModel(), ['--api-key', 'sekret', '--api-key', 'second-key', '--parallel', '1']);
  try {
    const bad = new Anthropic({ baseURL: server.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (err) => err instanceof Anthropic.AuthenticationError);
    const none = await fetch(`${server.baseURL}/v1/models`);
    assert.equal(none.status, 401);
    const e = await none.json();
    assert.equal(e.error.type, 'authentication_error');
    assert.equal(e.request_id, none.headers.get('request-id'));

    const good = new Anthropic({ baseURL: server.baseURL, apiKey: 'sekret', maxRetries: 0 });
    assert.equal((await good.models.list()).data.length, 1);
    const second = new Anthropic({ baseURL: server.baseURL, apiKey: 'second-key', maxRetries: 0 });
    const msg = await second.messages.create({ model: MODEL, max_tokens: 2, messages: user('hi') });
    assert.equal(msg.type, 'message');
    const bearer = new Anthropic({ baseURL: server.baseURL, authToken: 'sekret', apiKey: null, maxRetries: 0 });
    assert.equal((await bearer.models.list()).data.length, 1);
    // Liveness probes need no key.
    assert.equal((await fetch(`${server.baseURL}/`, { method: 'HEAD' })).status, 200);
  } finally {
    await server.stop();
  }
});

test('beyond the slots and the queue: 529 overloaded_error with retry-after', async () => {
  const server = await startServer(smallModel(), ['--parallel', '1', '--max-queue', '1', '--ctx-size', '4096',
    '--ping-interval', '0.2']);
  const controllers = [new AbortController(), new AbortController()];
  try {
    // One generation in the slot, one waiting: both were accepted once their first frame arrives
    // (message_start once the job is admitted and its cached prefix known; pings while it waits).
    const streams = await Promise.all(
      controllers.map(async (c) => {
        const r = await fetch(`${server.baseURL}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(longGeneration(4000)),
          signal: c.signal,
        });
        assert.equal(r.status, 200);
        const it = sseEvents(r);
        assert.ok(['message_start', 'ping'].includes((await it.next()).value.event));
        return it;
      }),
    );
    const r = await postMessages(server.baseURL, { model: MODEL, max_tokens: 4, messages: user('me too') });
    assert.equal(r.status, 529);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    const e = await r.json();
    assert.equal(e.error.type, 'overloaded_error');
    assert.equal(e.request_id, r.headers.get('request-id'));
    const sdk = new Anthropic({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(sdk.messages.create({ model: MODEL, max_tokens: 4, messages: user('me too') }), (err) => err.status === 529);
    controllers.forEach((c) => c.abort());
    await Promise.allSettled(streams.map((it) => it.return()));
    // Both slots' worth of work is released: the next request is served.
    await logLine(server, /generation \S+ cancelled: .* \(client disconnected\)/);
    const ok = await sdk.messages.create({ model: MODEL, max_tokens: 4, messages: user('now?') });
    assert.equal(ok.type, 'message');
  } finally {
    controllers.forEach((c) => c.abort());
    await server.stop();
  }
});

test('a non-loopback address needs an API key or --insecure', async () => {
  const refused = await serveExpectingExit(smallModel(), ['--host', '0.0.0.0']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.log, /--api-key/);
  assert.match(refused.log, /--insecure/);
  // An empty key (`--api-key "$UNSET"`) is no key: refused, on loopback too.
  for (const host of ['0.0.0.0', '127.0.0.1']) {
    const empty = await serveExpectingExit(smallModel(), ['--host', host, '--api-key', '']);
    assert.notEqual(empty.code, 0, empty.log);
    assert.match(empty.log, /API key is empty/);
  }
  for (const extra of [['--insecure'], ['--api-key', 'k']]) {
    const server = await startServer(smallModel(), ['--host', '0.0.0.0', '--parallel', '1', ...extra]);
    const { code } = await server.stop();
    assert.equal(code, 0, server.log());
  }
});

test('SIGTERM: the stream under way finishes, new work gets 503, then a clean exit', async () => {
  // A grace far longer than the 2000 tokens take, even on a busy machine (the default 10 s is not).
  const server = await startServer(smallModel(), ['--parallel', '2', '--ctx-size', '4096', '--shutdown-grace', '300']);
  const r = await postMessages(server.baseURL, longGeneration(2000));
  const events = sseEvents(r);
  await firstDelta(events);
  server.signal('SIGTERM');
  await logLine(server, /shutting down/);
  const refused = await postMessages(server.baseURL, { model: MODEL, max_tokens: 4, messages: user('late') });
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).error.type, 'overloaded_error');
  const rest = [];
  for await (const ev of events) rest.push(ev);
  assert.equal(rest.at(-1).event, 'message_stop');
  const delta = rest.find((e) => e.event === 'message_delta');
  assert.equal(delta.data.delta.stop_reason, 'max_tokens');
  assert.equal(delta.data.usage.output_tokens, 2000);
  const { code } = await server.exited;
  assert.equal(code, 0, server.log());
  assert.match(server.log(), /stopped/);
});

test('SIGINT past the grace period: the stream ends with an error event, never cut off', async () => {
  const server = await startServer(smallModel(), ['--parallel', '1', '--ctx-size', '4096', '--shutdown-grace', '0']);
  const r = await postMessages(server.baseURL, longGeneration(4000));
  const events = sseEvents(r);
  await firstDelta(events);
  server.signal('SIGINT');
  const rest = [];
  for await (const ev of events) rest.push(ev);
  const last = rest.at(-1);
  assert.equal(last.event, 'error');
  assert.equal(last.data.type, 'error');
  assert.equal(last.data.error.type, 'overloaded_error');
  assert.equal(last.data.error.message, 'the request was cancelled: the server is shutting down');
  const { code } = await server.exited;
  assert.equal(code, 0, server.log());
  assert.deepEqual(rejectedLines(server.log()), []);
});

test("README's first command, scripts/serve.sh, offline: the bundled test model, said plainly", { timeout: 300_000 }, async () => {
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
  // The script installs dependencies and builds (both no-ops here: ctest runs after a build), then
  // tries to fetch the default model — from a hub that refuses connections, into an empty cache,
  // as on a machine without the network — and execs `pensieve serve`, the process signalled below.
  const env = { ...process.env, HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME: mkdtempSync(path.join(tmpdir(), 'pensieve-hf-')) };
  delete env.PENSIEVE_MODEL;
  delete env.HF_HUB_CACHE;
  // Port 0: the server takes a free port as it binds and names it in its log.
  const child = spawn(path.join(repo, 'scripts', 'serve.sh'), ['--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 240_000;
    let port = null;
    for (;;) {
      assert.equal(child.exitCode, null, `serve.sh exited:\n${log}`);
      port ??= servedPort(log);
      const up = port !== null &&
        (await fetch(`http://127.0.0.1:${port}/api/hello`, { method: 'HEAD' }).then((r) => r.status === 200, () => false));
      if (up) break;
      assert.ok(Date.now() < deadline, `serve.sh did not come up:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const sdk = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'x', maxRetries: 0 });
    const msg = await sdk.messages.create({ model: MODEL, max_tokens: 4, messages: user('hello') });
    assert.equal(msg.type, 'message');
    assert.match(log, /qwen3-q8_0\.gguf/);
    assert.match(log, /RANDOM-WEIGHT TEST MODEL/);
    assert.match(log, /is a random-weight test model/);  // the server's banner too
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, log);
});
