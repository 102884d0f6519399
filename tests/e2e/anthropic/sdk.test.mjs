// The official Anthropic TypeScript SDK (pinned in package-lock.json) against the real
// `pensieve serve` on a fixture model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import {
  startServer, smallModel, chatModel, logLine, sseEvents, postMessages, assertOutputTokens, MODEL, user,
} from './harness.mjs';

let server;
let client;
const CONTEXT = 4096;

before(async () => {
  server = await startServer(smallModel(), ['--parallel', '4', '--ctx-size', String(CONTEXT)]);
  client = new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(code, 0, `graceful shutdown (signal ${signal}):\n${server.log()}`);
});

// The whole prompt, as the API splits it: read from the cache, written to it, and neither.
function promptTokens(usage) {
  return usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
}

test('non-streaming create', async () => {
  const { data: msg, response } = await client.messages
    .create({ model: MODEL, max_tokens: 16, messages: user('Hello there') })
    .withResponse();
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, MODEL);
  assert.match(msg.id, /^msg_/);
  assert.match(response.headers.get('request-id'), /^req_/);
  assert.ok(['end_turn', 'max_tokens'].includes(msg.stop_reason));
  const counted = await client.messages.countTokens({ model: MODEL, messages: user('Hello there') });
  // Tokens found in the server's cache (a prefix an earlier request left) and those computed and
  // written to it count apart.
  assert.equal(promptTokens(msg.usage), counted.input_tokens);
  assertOutputTokens(msg.usage, msg.stop_reason, 16);
});

test('the next turn of a conversation reads its prefix from the cache', async () => {
  const history = [
    { role: 'user', content: 'Remember the number seventeen. '.repeat(20) },
    { role: 'assistant', content: 'I will remember it.' },
  ];
  const first = await client.messages.create({
    model: MODEL, max_tokens: 4, messages: [...history, { role: 'user', content: 'Which number?' }],
  });
  const next = { model: MODEL, max_tokens: 4, messages: [...history, { role: 'user', content: 'Which number?' },
    { role: 'assistant', content: 'Seventeen.' }, { role: 'user', content: 'And doubled?' }] };
  const second = await client.messages.create(next);
  const counted = await client.messages.countTokens({ model: MODEL, messages: next.messages });
  assert.equal(promptTokens(second.usage), counted.input_tokens);
  // At least the first turn's prompt up to its last message was in the cache.
  assert.ok(second.usage.cache_read_input_tokens >= promptTokens(first.usage) / 2,
    `cache_read_input_tokens ${second.usage.cache_read_input_tokens} of ${counted.input_tokens}`);
});

test('messages.stream() and finalMessage()', async () => {
  const stream = client.messages.stream({ model: MODEL, max_tokens: 24, messages: user('Tell me a story') });
  let text = '';
  stream.on('text', (t) => (text += t));
  const msg = await stream.finalMessage();
  const blocks = msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  assert.equal(blocks, text);
  assertOutputTokens(msg.usage, msg.stop_reason, 24);
  assert.ok(promptTokens(msg.usage) > 0);
});

test('raw stream: true event order', async () => {
  const stream = await client.messages.create({ model: MODEL, max_tokens: 20, messages: user('Hi'), stream: true });
  const events = [];
  for await (const ev of stream) events.push(ev);
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'message_start');
  assert.ok(promptTokens(events[0].message.usage) > 0);
  assert.deepEqual(events[0].message.content, []);
  assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
  // Blocks: start, deltas, stop; index = position.
  let open = null;
  let next = 0;
  let deltas = 0;
  for (const ev of events.slice(1, -2)) {
    if (ev.type === 'content_block_start') {
      assert.equal(open, null);
      assert.equal(ev.index, next);
      open = ev.index;
    } else if (ev.type === 'content_block_delta') {
      assert.equal(ev.index, open);
      deltas++;
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
  assert.ok(delta.usage.output_tokens >= deltas);
  if (delta.delta.stop_reason === 'max_tokens') assert.equal(delta.usage.output_tokens, 20);
});

test('stop_sequences end the turn with the matched string', async () => {
  // Greedy decoding is deterministic: learn the text, then stop on a piece of it.
  const first = await client.messages.create({ model: MODEL, max_tokens: 12, temperature: 0, messages: user('abc') });
  const text = first.content.map((b) => b.text ?? '').join('');
  const stop = text.slice(3).match(/[a-z]{2}/)?.[0];
  assert.ok(stop, `no stop string to pick from ${JSON.stringify(text)}`);
  const msg = await client.messages.create({
    model: MODEL, max_tokens: 12, temperature: 0, messages: user('abc'), stop_sequences: [stop],
  });
  assert.equal(msg.stop_reason, 'stop_sequence');
  assert.equal(msg.stop_sequence, stop);
  const stopped = msg.content.map((b) => b.text ?? '').join('');
  assert.ok(text.startsWith(stopped) && !stopped.includes(stop), `${JSON.stringify(stopped)} of ${JSON.stringify(text)}`);
});

test('countTokens counts with the template and tokenizer', async () => {
  const a = await client.messages.countTokens({ model: MODEL, messages: user('one') });
  const b = await client.messages.countTokens({ model: MODEL, messages: user('one two three four five') });
  const c = await client.messages.countTokens({ model: MODEL, system: 'Be brief.', messages: user('one') });
  assert.ok(a.input_tokens > 0);
  assert.ok(b.input_tokens > a.input_tokens);
  assert.ok(c.input_tokens > a.input_tokens);
});

test('models.list and retrieve; claude-* names are the loaded model', async () => {
  const page = await client.models.list();
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].type, 'model');
  assert.equal(page.data[0].id, 'pensieve-reference-qwen3');
  const m = await client.models.retrieve('claude-opus-4-1');
  assert.equal(m.id, 'claude-opus-4-1');
  assert.equal(m.display_name, page.data[0].display_name);
  const msg = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 2, messages: user('hi') });
  assert.equal(msg.model, 'claude-haiku-4-5');
});

test('beta.messages (?beta=true) with unknown betas and fields', async () => {
  const msg = await client.beta.messages.create({
    model: MODEL,
    max_tokens: 8,
    messages: user('hi'),
    betas: ['interleaved-thinking-2025-05-14', 'some-future-beta-2099-01-01'],
    metadata: { user_id: 'someone' },
    thinking: { type: 'enabled', budget_tokens: 1024 },
    tools: [{ name: 'get_time', description: 'Current time', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    some_future_field: { anything: true },
  });
  assert.equal(msg.type, 'message');
  const counted = await client.beta.messages.countTokens({ model: MODEL, messages: user('hi'), betas: ['x-y'] });
  assert.ok(counted.input_tokens > 0);
});

async function expectInvalid(body, message) {
  const r = await postMessages(server.baseURL, body);
  assert.equal(r.status, 400);
  const e = await r.json();
  assert.equal(e.type, 'error');
  assert.equal(e.error.type, 'invalid_request_error');
  assert.equal(e.error.message, message);
  assert.equal(e.request_id, r.headers.get('request-id'));
}

test('400 envelopes with the real API messages', async () => {
  await assert.rejects(
    client.messages.create({ model: MODEL, messages: user('x') }),
    (err) => err instanceof Anthropic.BadRequestError && err.error.error.message === 'max_tokens: Field required',
  );
  await expectInvalid({ model: MODEL, max_tokens: 5, messages: [] }, 'messages: at least one message is required');
  await expectInvalid(
    { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
    'messages: text content blocks must be non-empty',
  );
  const call = { type: 'tool_use', id: 'toolu_01', name: 'f', input: {} };
  await expectInvalid(
    {
      model: MODEL,
      max_tokens: 5,
      messages: [user('a')[0], { role: 'assistant', content: [call] }, user('b')[0]],
    },
    'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01. ' +
      'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
  );
  await expectInvalid(
    {
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_02', content: 'x' }] }],
    },
    'messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_02. ' +
      'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
  );
  await expectInvalid({ max_tokens: 5, messages: user('x') }, 'model: Field required');
});

test('404 and 413 envelopes, HEAD probes', async () => {
  const r404 = await fetch(`${server.baseURL}/v1/nothing-here`);
  assert.equal(r404.status, 404);
  const e404 = await r404.json();
  assert.equal(e404.error.type, 'not_found_error');
  assert.equal(e404.request_id, r404.headers.get('request-id'));
  const big = JSON.stringify({ model: MODEL, max_tokens: 5, messages: user('a'.repeat(33 * 1024 * 1024)) });
  const r413 = await fetch(`${server.baseURL}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: big,
  });
  assert.equal(r413.status, 413);
  assert.equal((await r413.json()).error.type, 'request_too_large');
  assert.ok(r413.headers.get('request-id'));
  for (const p of ['/', '/api/hello']) {
    const head = await fetch(`${server.baseURL}${p}`, { method: 'HEAD' });
    assert.equal(head.status, 200, p);
    assert.ok(head.headers.get('request-id'));
  }
});

test('abort mid-stream stops the generation, then a healthy request', async () => {
  const controller = new AbortController();
  // Greedy decoding on this prompt runs to max_tokens (thousands of tokens, seconds of work).
  const { data: stream, response } = await client.messages
    .create(
      { model: MODEL, max_tokens: 3000, messages: user('Go on and on'), stream: true, temperature: 0 },
      { signal: controller.signal },
    )
    .withResponse();
  const id = response.headers.get('request-id');
  let seen = 0;
  try {
    for await (const ev of stream) {
      if (ev.type === 'content_block_delta' && ++seen === 3) controller.abort();
    }
  } catch (err) {
    // Depending on the SDK version an abort ends the iteration or throws its abort error.
    assert.ok(err instanceof Anthropic.APIUserAbortError || err.name === 'AbortError', String(err));
  }
  assert.ok(seen >= 3);
  const line = await logLine(server, new RegExp(`generation ${id} `));
  const m = line.match(/cancelled: \d+ prompt tokens \(\d+ cached\), (\d+) output tokens;.* \(client disconnected\)/);
  assert.ok(m, line);
  assert.ok(Number(m[1]) < 3000, line);
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
    // The prompts share their first tokens: a stream may find them in a slot's cache.
    assert.equal(promptTokens(msg.usage), counts[i].input_tokens);
    assertOutputTokens(msg.usage, msg.stop_reason, 12);
  });
});

test('context overflow: the exact messages', async () => {
  const long = 'lorem ipsum dolor sit amet '.repeat(1200);
  const { input_tokens } = await client.messages.countTokens({ model: MODEL, messages: user(long) });
  assert.ok(input_tokens > CONTEXT);
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 10, messages: user(long) }),
    (err) =>
      err.status === 400 && err.error.error.message === `prompt is too long: ${input_tokens} tokens > ${CONTEXT - 1} maximum`,
  );
  const short = await client.messages.countTokens({ model: MODEL, messages: user('hi') });
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 5000, messages: user('hi') }),
    (err) =>
      err.status === 400 &&
      err.error.error.message ===
        `input length and \`max_tokens\` exceed context limit: ${short.input_tokens} + 5000 > ${CONTEXT}, ` +
          'decrease input length or `max_tokens` and try again',
  );
});

test('20k-token prompt on a full-vocabulary model: pings while it is processed, exact usage', async () => {
  const chat = await startServer(chatModel(), ['--parallel', '2', '--ctx-size', '32768', '--ping-interval', '0.5']);
  try {
    const c = new Anthropic({ baseURL: chat.baseURL, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
    // Words, numbers and a control token's text typed by the user (it must stay text).
    const words = Array.from({ length: 3500 }, (_, i) => (i % 3 ? `token${i % 997}` : `token${i % 997} <|im_end|>`));
    const messages = user(words.join(' '));
    const { input_tokens } = await c.messages.countTokens({ model: MODEL, messages });
    assert.ok(input_tokens > 15000, `prompt has ${input_tokens} tokens`);

    const t0 = Date.now();
    const r = await postMessages(chat.baseURL, { model: MODEL, max_tokens: 8, messages, stream: true });
    assert.equal(r.status, 200);
    const events = [];
    for await (const ev of sseEvents(r, t0)) events.push(ev);
    // Pings may come first: message_start waits until the server knows what of the prompt it has
    // cached, so that its usage is the truth, and says so again at the end.
    const start = events.findIndex((e) => e.event === 'message_start');
    assert.ok(start >= 0, 'a message_start');
    assert.ok(events.slice(0, start).every((e) => e.event === 'ping'));
    const usage = events[start].data.message.usage;
    assert.equal(promptTokens(usage), input_tokens);
    assert.equal(usage.cache_creation_input_tokens, input_tokens - usage.cache_read_input_tokens);
    assert.equal(events.at(-1).event, 'message_stop');
    for (const ev of events) assert.equal(ev.event, ev.data.type);
    const firstBlock = events.findIndex((e) => e.event === 'content_block_start' || e.event === 'message_delta');
    const pings = events.slice(0, firstBlock).filter((e) => e.event === 'ping');
    const gaps = events.slice(1).map((e, i) => e.at - events[i].at);
    const processing = events[firstBlock].at - events[0].at;
    assert.ok(Math.max(...gaps) < 5000, `a gap of ${Math.max(...gaps)} ms between frames`);
    // Pings every 0.5 s: prompt processing of a few seconds shows several.
    if (processing > 1500) assert.ok(pings.length >= 1, `${processing} ms of processing, ${pings.length} pings`);
    const delta = events.find((e) => e.event === 'message_delta');
    assertOutputTokens(delta.data.usage, delta.data.delta.stop_reason, 8);
    assert.equal(delta.data.usage.cache_creation_input_tokens, usage.cache_creation_input_tokens);
    console.log(`# ${input_tokens}-token prompt processed in ${processing} ms with ${pings.length} pings`);
  } finally {
    const { code } = await chat.stop();
    assert.equal(code, 0, chat.log());
  }
});
