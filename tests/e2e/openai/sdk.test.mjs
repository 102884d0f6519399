// The official openai TypeScript SDK (pinned in package-lock.json) against the real
// `pensieve serve` on a fixture model: chat completions streamed and not, usage, tools with
// streamed arguments held to their schema (with OpenAI's call_ ids, sent back as they came),
// structured output, legacy text completions streamed and not, errors in OpenAI's envelope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, smallModel } from '../anthropic/harness.mjs';

let server;
let client;

before(async () => {
  server = await startServer(smallModel(), ['--parallel', '2', '--ctx-size', '4096']);
  client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(code, 0, `graceful shutdown (signal ${signal}):\n${server.log()}`);
});

const MODEL = 'local';
const tools = [
  {
    type: 'function',
    function: {
      name: 'get_time',
      description: 'The current time in a time zone',
      parameters: {
        type: 'object',
        properties: { tz: { type: 'string', enum: ['UTC', 'CET', 'PST'] } },
        required: ['tz'],
        additionalProperties: false,
      },
    },
  },
];

function assertUsage(usage, maxTokens) {
  assert.ok(usage.prompt_tokens > 0, JSON.stringify(usage));
  assert.ok(usage.completion_tokens >= 0 && usage.completion_tokens <= maxTokens, JSON.stringify(usage));
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.ok(usage.prompt_tokens_details.cached_tokens <= usage.prompt_tokens);
}

test('models.list answers the openai SDK', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  assert.equal(models.length, 1);
  assert.equal(models[0].object, 'model');
  assert.ok(models[0].id.length > 0);
  assert.equal(typeof models[0].created, 'number');
});

test('a chat completion, not streamed', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    max_completion_tokens: 12,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there' },
    ],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assertUsage(r.usage, 12);
});

test('a streamed chat completion with usage', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 8,
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Count to three' }],
  });
  let content = '';
  let finish = null;
  let usage = null;
  let first = true;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    if (first) assert.equal(chunk.choices[0].delta.role, 'assistant');
    first = false;
    content += chunk.choices[0].delta.content ?? '';
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.ok(['stop', 'length'].includes(finish));
  assert.ok(usage, 'include_usage gives a usage chunk');
  assertUsage(usage, 8);
  assert.equal(typeof content, 'string');
});

test('the same seed gives the same completion', async () => {
  const ask = () =>
    client.chat.completions.create({
      model: MODEL,
      max_tokens: 10,
      seed: 1234,
      temperature: 1,
      messages: [{ role: 'user', content: 'Say something' }],
    });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('tool_choice required: a call whose arguments fit the schema', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 200,
    tools,
    tool_choice: 'required',
    // One call: several, each within its schema, could outrun max_tokens on a random model.
    parallel_tool_calls: false,
    messages: [{ role: 'user', content: 'What time is it in Paris?' }],
  });
  const choice = r.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(r));
  const call = choice.message.tool_calls[0];
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_[A-Za-z0-9]{24}$/, 'OpenAI\'s form of a tool call id');
  assert.equal(call.function.name, 'get_time');
  const args = JSON.parse(call.function.arguments);
  assert.deepEqual(Object.keys(args), ['tz']);
  assert.ok(['UTC', 'CET', 'PST'].includes(args.tz), call.function.arguments);

  // The call and its result go back with the id the server gave, and the turn goes on.
  const next = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 6,
    tools,
    messages: [
      { role: 'user', content: 'What time is it in Paris?' },
      choice.message,
      { role: 'tool', tool_call_id: call.id, content: '12:00' },
    ],
  });
  assert.equal(next.choices[0].message.role, 'assistant');
});

test('a named tool, streamed: the arguments arrive as deltas', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 200,
    stream: true,
    tools,
    tool_choice: { type: 'function', function: { name: 'get_time' } },
    parallel_tool_calls: false,
    messages: [{ role: 'user', content: 'Time in London?' }],
  });
  const calls = [];
  let finish = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const d of choice.delta.tool_calls ?? []) {
      calls[d.index] ??= { id: '', name: '', arguments: '' };
      if (d.id) calls[d.index].id = d.id;
      if (d.function?.name) calls[d.index].name = d.function.name;
      calls[d.index].arguments += d.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 1);
  assert.match(calls[0].id, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(calls[0].name, 'get_time');
  assert.ok(['UTC', 'CET', 'PST'].includes(JSON.parse(calls[0].arguments).tz));
});

test('a tool result goes back in a tool message', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 6,
    tools,
    messages: [
      { role: 'user', content: 'Time in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
    ],
  });
  assert.equal(r.choices[0].message.role, 'assistant');
});

test('response_format json_schema: the content is valid JSON for it', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    max_tokens: 200,
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        schema: {
          type: 'object',
          properties: { ok: { type: 'boolean' }, level: { enum: [1, 2, 3] } },
          required: ['ok', 'level'],
          additionalProperties: false,
        },
      },
    },
    messages: [{ role: 'user', content: 'Rate it' }],
  });
  const value = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof value.ok, 'boolean');
  assert.ok([1, 2, 3].includes(value.level));
});

test('a text completion, not streamed: 16 tokens at most by default', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'The capital of France is' });
  assert.equal(r.object, 'text_completion');
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.model, MODEL);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.equal(r.choices[0].logprobs, null);
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assertUsage(r.usage, 16);
});

test('a streamed text completion with stop sequences and usage', async () => {
  const stream = await client.completions.create({
    model: MODEL,
    prompt: ['def fib(n):\n'],
    max_tokens: 12,
    temperature: 0.2,
    stop: ['\n\n', 'def ', 'class ', '#', 'if __name__'],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    text += chunk.choices[0].text;
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.ok(['stop', 'length'].includes(finish));
  for (const s of ['\n\n', 'def ', 'class ', '#']) assert.ok(!text.includes(s), `stopped before ${JSON.stringify(s)}: ${text}`);
  assert.ok(usage, 'include_usage gives a usage chunk');
  assertUsage(usage, 12);
});

test('echo gives the prompt back before its completion; the same seed, the same text', async () => {
  const ask = () => client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8, seed: 99, echo: true });
  const [a, b] = [await ask(), await ask()];
  assert.ok(a.choices[0].text.startsWith('Once upon a time'), a.choices[0].text);
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('text completion refusals name the field', async () => {
  for (const [extra, field] of [
    [{ suffix: '}' }, /suffix/],
    [{ n: 2 }, /n: only 1/],
    [{ logprobs: 2 }, /logprobs/],
  ]) {
    await assert.rejects(
      client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 2, ...extra }),
      (e) => e instanceof OpenAI.BadRequestError && field.test(e.message),
    );
  }
  await assert.rejects(
    client.completions.create({ model: MODEL, prompt: [1, 2, 3], max_tokens: 2 }),
    (e) => e instanceof OpenAI.BadRequestError && /token ids/.test(e.message),
  );
});

test('errors come in OpenAI\'s envelope, as the SDK reads them', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, n: 2, messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /n: only 1/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: MODEL, messages: [{ role: 'wizard', content: 'hi' }] }),
    (e) => e instanceof OpenAI.BadRequestError && /messages\[0\]\.role/.test(e.message),
  );
  const raw = await fetch(`${server.baseURL}/v1/chat/completions`, { method: 'POST', body: '{"model": 1' });
  assert.equal(raw.status, 400);
  const body = await raw.json();
  assert.equal(body.error.type, 'invalid_request_error');
  assert.ok('param' in body.error && 'code' in body.error);
});
