// The official Anthropic TypeScript SDK against the real `pensieve serve`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, smallModel, chatModel } from './harness.mjs';

let server;
let client;
const MODEL = 'claude-sonnet-4-5';
const user = (text) => [{ role: 'user', content: text }];

before(async () => {
  server = await startServer(smallModel(), ['--parallel', '4', '--ctx-size', '4096']);
  client = new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(code, 0, `graceful shutdown (signal ${signal}):\n${server.log()}`);
});

test('non-streaming create', async () => {
  const msg = await client.messages.create({ model: MODEL, max_tokens: 16, messages: user('Hello there') });
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, MODEL);
  assert.match(msg.id, /^msg_/);
  assert.ok(['end_turn', 'max_tokens'].includes(msg.stop_reason));
  const counted = await client.messages.countTokens({ model: MODEL, messages: user('Hello there') });
  assert.equal(msg.usage.input_tokens, counted.input_tokens);
  assert.ok(msg.usage.output_tokens >= 1 && msg.usage.output_tokens <= 16);
  if (msg.stop_reason === 'max_tokens') assert.equal(msg.usage.output_tokens, 16);
});

test('messages.stream() and finalMessage()', async () => {
  const stream = client.messages.stream({ model: MODEL, max_tokens: 24, messages: user('Tell me a story') });
  let text = '';
  stream.on('text', (t) => (text += t));
  const msg = await stream.finalMessage();
  const blocks = msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  assert.equal(blocks, text);
  assert.ok(msg.usage.output_tokens >= 1 && msg.usage.output_tokens <= 24);
  assert.ok(msg.usage.input_tokens > 0);
});

test('raw stream: true event order', async () => {
  const stream = await client.messages.create({ model: MODEL, max_tokens: 20, messages: user('Hi'), stream: true });
  const events = [];
  for await (const ev of stream) events.push(ev);
  const types = events.map((e) => e.type).filter((t) => t !== 'ping');
  assert.equal(types[0], 'message_start');
  assert.ok(events[0].message.usage.input_tokens > 0);
  assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
  // Blocks: start, deltas, stop; index = position.
  let open = null;
  let next = 0;
  for (const ev of events.slice(1, -2)) {
    if (ev.type === 'ping') continue;
    if (ev.type === 'content_block_start') {
      assert.equal(open, null);
      assert.equal(ev.index, next);
      open = ev.index;
    } else if (ev.type === 'content_block_delta') {
      assert.equal(ev.index, open);
    } else if (ev.type === 'content_block_stop') {
      assert.equal(ev.index, open);
      open = null;
      next++;
    } else {
      assert.fail(`unexpected event ${ev.type}`);
    }
  }
  assert.equal(open, null);
  const delta = events.at(-2);
  assert.ok(['end_turn', 'max_tokens'].includes(delta.delta.stop_reason));
  assert.ok(delta.usage.output_tokens >= 1);
});

test('countTokens counts with the template and tokenizer', async () => {
  const a = await client.messages.countTokens({ model: MODEL, messages: user('one') });
  const b = await client.messages.countTokens({ model: MODEL, messages: user('one two three four five') });
  const c = await client.messages.countTokens({ model: MODEL, system: 'Be brief.', messages: user('one') });
  assert.ok(a.input_tokens > 0);
  assert.ok(b.input_tokens > a.input_tokens);
  assert.ok(c.input_tokens > a.input_tokens);
});

test('models.list and retrieve', async () => {
  const page = await client.models.list();
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].type, 'model');
  const m = await client.models.retrieve('claude-opus-4-1');
  assert.equal(m.id, 'claude-opus-4-1');
});

test('beta.messages (?beta=true)', async () => {
  const msg = await client.beta.messages.create({
    model: MODEL,
    max_tokens: 8,
    messages: user('hi'),
    betas: ['interleaved-thinking-2025-05-14', 'some-future-beta'],
  });
  assert.equal(msg.type, 'message');
});

test('400 envelope with the real message', async () => {
  await assert.rejects(
    client.messages.create({ model: MODEL, messages: user('x') }),
    (err) => err instanceof Anthropic.BadRequestError && err.error.error.message === 'max_tokens: Field required',
  );
  const r = await fetch(`${server.baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [] }),
  });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.equal(body.error.message, 'messages: at least one message is required');
  assert.equal(body.request_id, r.headers.get('request-id'));
});

test('404 and 413 envelopes', async () => {
  const r404 = await fetch(`${server.baseURL}/v1/nothing-here`);
  assert.equal(r404.status, 404);
  assert.equal((await r404.json()).error.type, 'not_found_error');
  assert.ok(r404.headers.get('request-id'));
  const big = JSON.stringify({ model: MODEL, max_tokens: 5, messages: user('a'.repeat(33 * 1024 * 1024)) });
  const r413 = await fetch(`${server.baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: big,
  });
  assert.equal(r413.status, 413);
  assert.equal((await r413.json()).error.type, 'request_too_large');
});

test('abort mid-stream, then a healthy request', async () => {
  const controller = new AbortController();
  const stream = await client.messages.create(
    { model: MODEL, max_tokens: 3000, messages: user('Go on and on'), stream: true, temperature: 1 },
    { signal: controller.signal },
  );
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta' && ++seen === 3) controller.abort();
      }
    })(),
  );
  const msg = await client.messages.create({ model: MODEL, max_tokens: 4, messages: user('still there?') });
  assert.equal(msg.type, 'message');
});

test('8 concurrent streams all complete with correct usage', async () => {
  const prompts = Array.from({ length: 8 }, (_, i) => `Request number ${i} ${'word '.repeat(i)}`);
  const counts = await Promise.all(prompts.map((p) => client.messages.countTokens({ model: MODEL, messages: user(p) })));
  const results = await Promise.all(
    prompts.map((p) => client.messages.stream({ model: MODEL, max_tokens: 12, messages: user(p) }).finalMessage()),
  );
  results.forEach((msg, i) => {
    assert.equal(msg.usage.input_tokens, counts[i].input_tokens);
    assert.ok(msg.usage.output_tokens >= 1 && msg.usage.output_tokens <= 12);
  });
});

test('context overflow: the exact messages', async () => {
  const long = 'lorem ipsum dolor sit amet '.repeat(1200);
  const { input_tokens } = await client.messages.countTokens({ model: MODEL, messages: user(long) });
  assert.ok(input_tokens > 4096);
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 10, messages: user(long) }),
    (err) => err.status === 400 && err.error.error.message === `prompt is too long: ${input_tokens} tokens > 4095 maximum`,
  );
  const short = await client.messages.countTokens({ model: MODEL, messages: user('hi') });
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 5000, messages: user('hi') }),
    (err) =>
      err.status === 400 &&
      err.error.error.message ===
        `input length and \`max_tokens\` exceed context limit: ${short.input_tokens} + 5000 > 4096, decrease input length or \`max_tokens\` and try again`,
  );
});

test('401 with a wrong key, 200 with the right one (x-api-key and Bearer)', async () => {
  const keyed = await startServer(smallModel(), ['--api-key', 'sekret', '--parallel', '1']);
  try {
    const bad = new Anthropic({ baseURL: keyed.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (err) => err instanceof Anthropic.AuthenticationError);
    const good = new Anthropic({ baseURL: keyed.baseURL, apiKey: 'sekret', maxRetries: 0 });
    assert.equal((await good.models.list()).data.length, 1);
    const bearer = new Anthropic({ baseURL: keyed.baseURL, authToken: 'sekret', apiKey: null, maxRetries: 0 });
    assert.equal((await bearer.models.list()).data.length, 1);
  } finally {
    await keyed.stop();
  }
});

test('long prompt on a full-vocabulary model streams with pings and exact usage', async () => {
  const chat = await startServer(chatModel(), ['--parallel', '2', '--ctx-size', '32768']);
  try {
    const c = new Anthropic({ baseURL: chat.baseURL, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
    const words = Array.from({ length: 12000 }, (_, i) => `token${i % 997} <|im_end|>`.slice(0, i % 3 ? 8 : 20));
    const text = words.join(' ');
    const { input_tokens } = await c.messages.countTokens({ model: MODEL, messages: user(text) });
    assert.ok(input_tokens > 15000, `prompt has ${input_tokens} tokens`);
    const stream = await c.messages.create({ model: MODEL, max_tokens: 8, messages: user(text), stream: true });
    const types = [];
    let start;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'message_start') start = ev;
    }
    assert.equal(start.message.usage.input_tokens, input_tokens);
    assert.equal(types.at(-1), 'message_stop');
  } finally {
    await chat.stop();
  }
});
