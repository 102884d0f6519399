// Upstream mode: a `pensieve serve --upstream …` front before two real `pensieve serve`
// upstreams on loopback, driven by the official Anthropic SDK (and plain fetch for the OpenAI
// route). The front translates each request to a chat completion, relays the upstream's chunks
// back in the client's format, and keeps a conversation on one upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import {
  startServer, startFront, smallModel, logLine, sseEvents, postMessages, assertOutputTokens, MODEL, user,
} from './harness.mjs';

const UPSTREAM_KEY = 'sk-upstream';
const FRONT_KEY = 'sk-front';
let upstreams;
let front;
let client;

before(async () => {
  const args = ['--parallel', '4', '--ctx-size', '4096', '--api-key', UPSTREAM_KEY];
  upstreams = await Promise.all([startServer(smallModel(), args), startServer(smallModel(), args)]);
  front = await startFront(upstreams.map((u) => u.baseURL), ['--upstream-key', UPSTREAM_KEY, '--api-key', FRONT_KEY]);
  client = new Anthropic({ baseURL: front.baseURL, apiKey: FRONT_KEY, maxRetries: 0 });
});
after(async () => {
  const { code, signal } = await front.stop();
  for (const u of upstreams) await u.stop();
  assert.equal(code, 0, `graceful shutdown of the front (signal ${signal}):\n${front.log()}`);
});

// The upstream that answered a request, from the front's log line for it.
async function servedBy(requestId) {
  const line = await logLine(front, new RegExp(`generation ${requestId} relayed from `));
  return line.match(/relayed from (\S+?),/)[1];
}

test('non-streaming create: the upstream answers, its usage comes back', async () => {
  const { data: msg, response } = await client.messages
    .create({ model: MODEL, max_tokens: 16, messages: user('Hello there') })
    .withResponse();
  assert.equal(msg.type, 'message');
  assert.equal(msg.model, MODEL);
  assert.match(msg.id, /^msg_/);
  assert.ok(['end_turn', 'max_tokens'].includes(msg.stop_reason), msg.stop_reason);
  // The upstream's own count of the prompt, not the front's estimate.
  const direct = await new Anthropic({ baseURL: upstreams[0].baseURL, apiKey: UPSTREAM_KEY }).messages.countTokens({
    model: MODEL,
    messages: user('Hello there'),
  });
  const prompt = msg.usage.input_tokens + msg.usage.cache_read_input_tokens + msg.usage.cache_creation_input_tokens;
  assert.equal(prompt, direct.input_tokens);
  assertOutputTokens(msg.usage, msg.stop_reason, 16);
  const by = await servedBy(response.headers.get('request-id'));
  assert.ok(upstreams.some((u) => u.baseURL === by), by);
});

test('messages.stream() relays text deltas in order and ends with usage', async () => {
  const stream = client.messages.stream({ model: MODEL, max_tokens: 24, messages: user('Tell me a story') });
  let deltas = '';
  stream.on('text', (t) => (deltas += t));
  const msg = await stream.finalMessage();
  assert.equal(msg.content.map((b) => b.text ?? '').join(''), deltas);
  assertOutputTokens(msg.usage, msg.stop_reason, 24);
  // message_start had an estimate; message_delta brings the upstream's own count.
  const direct = await new Anthropic({ baseURL: upstreams[0].baseURL, apiKey: UPSTREAM_KEY }).messages.countTokens({
    model: MODEL,
    messages: user('Tell me a story'),
  });
  const prompt = msg.usage.input_tokens + msg.usage.cache_read_input_tokens + msg.usage.cache_creation_input_tokens;
  assert.equal(prompt, direct.input_tokens);
});

test('raw stream: event order, and the same text as the upstream alone gives', async () => {
  const body = { model: MODEL, max_tokens: 12, temperature: 0, stream: true, messages: user('abc') };
  const kinds = [];
  let text = '';
  for await (const e of sseEvents(await postMessages(front.baseURL, body, { 'x-api-key': FRONT_KEY }))) {
    if (e.event === 'ping') continue;
    kinds.push(e.event);
    if (e.data?.delta?.type === 'text_delta') text += e.data.delta.text;
  }
  assert.equal(kinds[0], 'message_start');
  assert.equal(kinds.at(-1), 'message_stop');
  assert.equal(kinds.at(-2), 'message_delta');
  const direct = await new Anthropic({ baseURL: upstreams[1].baseURL, apiKey: UPSTREAM_KEY }).messages.create({
    ...body,
    stream: false,
  });
  assert.equal(text, direct.content.map((b) => b.text ?? '').join(''));
});

test('stop_sequences are matched at the front', async () => {
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

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object',
    // Bounded, so that a random model's call ends well inside max_tokens.
    properties: { city: { type: 'string', enum: ['Paris', 'Rome', 'Oslo'] }, days: { type: 'integer', minimum: 1, maximum: 9 } },
    required: ['city', 'days'],
  },
};

test('a forced tool call streams its input and comes back as tool_use', async () => {
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 200,
    tools: [weather],
    // One call (parallel_tool_calls false upstream), so that the streamed input is one object.
    tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
    messages: user('Weather in Paris?'),
  });
  let json = '';
  stream.on('inputJson', (delta) => (json += delta));
  const msg = await stream.finalMessage();
  const calls = msg.content.filter((b) => b.type === 'tool_use');
  assert.equal(calls.length, 1, JSON.stringify(msg.content));
  const call = calls[0];
  assert.equal(call.name, 'get_weather');
  assert.ok(['Paris', 'Rome', 'Oslo'].includes(call.input.city), JSON.stringify(call.input));
  assert.ok(Number.isInteger(call.input.days));
  assert.deepEqual(JSON.parse(json), call.input);
  assert.equal(msg.stop_reason, 'tool_use');

  // The result goes back through the front to an upstream, which reads it as a tool message.
  const next = await client.messages.create({
    model: MODEL,
    max_tokens: 8,
    tools: [weather],
    messages: [
      ...user('Weather in Paris?'),
      { role: 'assistant', content: msg.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Sunny, 21°C' }] },
    ],
  });
  assert.equal(next.type, 'message');
});

test('count_tokens is an estimate, and grows with the prompt', async () => {
  const a = await client.messages.countTokens({ model: MODEL, messages: user('one') });
  const b = await client.messages.countTokens({ model: MODEL, messages: user('one two three four five six seven') });
  assert.ok(a.input_tokens > 0);
  assert.ok(b.input_tokens > a.input_tokens);
});

test('models: the upstream model, under any claude-* name', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  const direct = await (await fetch(`${upstreams[0].baseURL}/v1/models`, { headers: { 'x-api-key': UPSTREAM_KEY } })).json();
  assert.equal(list.data[0].id, direct.data[0].id);
});

test('errors: the front validates; a wrong key is refused before any upstream sees it', async () => {
  await assert.rejects(
    client.messages.create({ model: MODEL, messages: user('x') }),
    (e) => e.status === 400 && /max_tokens/.test(e.message),
  );
  const bad = new Anthropic({ baseURL: front.baseURL, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.messages.create({ model: MODEL, max_tokens: 4, messages: user('x') }), (e) => e.status === 401);
  // An image goes as the local engine shows it to its model: a placeholder (the front keeps only
  // that there was one), so that a session with a screenshot in it goes on.
  const withImage = await client.messages.create({
    model: MODEL,
    max_tokens: 4,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] }],
  });
  assert.equal(withImage.type, 'message');
});

test('the OpenAI route is relayed too', async () => {
  const r = await fetch(`${front.baseURL}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${FRONT_KEY}` },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.object, 'chat.completion');
  assert.ok(body.usage.prompt_tokens > 0);
  assert.ok(['stop', 'length'].includes(body.choices[0].finish_reason));

  // A text completion goes to the upstream's /v1/completions; the front writes the echo.
  const t = await fetch(`${front.baseURL}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${FRONT_KEY}` },
    body: JSON.stringify({ model: 'm', prompt: 'Once upon a time', max_tokens: 5, temperature: 0, echo: true }),
  });
  assert.equal(t.status, 200);
  const completion = await t.json();
  assert.equal(completion.object, 'text_completion');
  assert.ok(completion.choices[0].text.startsWith('Once upon a time'), completion.choices[0].text);
  const direct = await (await fetch(`${upstreams[0].baseURL}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${UPSTREAM_KEY}` },
    body: JSON.stringify({ model: 'm', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 }),
  })).json();
  assert.equal(completion.choices[0].text, 'Once upon a time' + direct.choices[0].text);
  assert.equal(completion.usage.prompt_tokens, direct.usage.prompt_tokens);
});

test("a conversation's turns stay on one upstream (prefix affinity ≥ 95%)", async () => {
  const conversations = 12;
  const turns = 5;
  const homes = [];
  const landed = new Set();
  let same = 0;
  let total = 0;
  // Four conversations at a time side by side, each turn after the last, as clients do: a load
  // the upstreams (4 slots each) take without queueing, so that none is full and affinity alone
  // decides. (A full upstream's turns go elsewhere, by design: upstream_faults covers that.)
  const converse = async (c) => {
    const messages = [...user(`Conversation ${c}: ${'some shared context '.repeat(20)}`)];
    const served = [];
    for (let t = 0; t < turns; t += 1) {
      const { data: msg, response } = await client.messages
        .create({ model: MODEL, max_tokens: 4, system: 'You are terse.', messages })
        .withResponse();
      served.push(await servedBy(response.headers.get('request-id')));
      messages.push({ role: 'assistant', content: msg.content.length ? msg.content : [{ type: 'text', text: '.' }] });
      messages.push(...user(`turn ${t + 1}`));
    }
    homes.push(served[0]);
    for (const s of served) {
      landed.add(s);
      same += s === served[0] ? 1 : 0;
      total += 1;
    }
  };
  for (let c = 0; c < conversations; c += 4) {
    await Promise.all([0, 1, 2, 3].map((i) => converse(c + i)));
  }
  assert.ok(same / total >= 0.95, `${same} of ${total} turns on their conversation's first upstream`);
  assert.equal(landed.size, 2, `conversations spread over both upstreams: ${[...landed]}`);
});
