// The request bodies established chat front ends send to an OpenAI-compatible backend, sent with
// plain fetch to the real `pensieve serve` on a fixture model, each answered as the front end
// reads it (streamed chunks parsed up to `data: [DONE]`) or refused with a 400 naming the field.
// The shapes follow each project's source:
// - Open WebUI (backend/open_webui/utils/payload.py, routers/openai.py): the model's parameters
//   copied into the body (temperature, top_p, min_p, max_tokens, frequency_penalty,
//   presence_penalty, reasoning_effort, seed, stop, logit_bias, response_format), content part
//   arrays, stream_options.include_usage, and unstreamed task requests (titles, tags).
// - SillyTavern (src/endpoints/backends/chat-completions.js, custom source): messages, model,
//   temperature, max_tokens, stream, presence_penalty, frequency_penalty, top_p, top_k, stop,
//   logit_bias ({} when unset), seed, n: 1; its text-completion mode sends a prompt it formatted
//   itself, with sampler extensions.
// - Continue (core/llm/llms/OpenAI.ts): chat with messages whose parts are joined into strings;
//   autocomplete on the legacy /v1/completions with a stop list longer than OpenAI's 4.
// What pensieve does with each field: honoured (sampling, penalties, stop, seed, top_k, min_p,
// repetition_penalty, stream_options), ignored because it changes nothing here (user, metadata,
// verbosity, an empty logit_bias, logprobs: false, n: 1, extensions it does not know), or refused
// because ignoring it would silently change the answer (a non-empty logit_bias, logprobs: true,
// n > 1, suffix).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, smallModel } from '../anthropic/harness.mjs';

let server;

before(async () => {
  server = await startServer(smallModel(), ['--parallel', '2', '--ctx-size', '4096']);
});
after(async () => {
  const { code, signal } = await server.stop();
  assert.equal(code, 0, `graceful shutdown (signal ${signal}):\n${server.log()}`);
});

function post(path, body) {
  return fetch(`${server.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-unused' },
    body: JSON.stringify(body),
  });
}

// The `data:` payloads of an OpenAI stream, parsed; asserts it ends with [DONE] and nothing after.
async function streamed(response) {
  assert.equal(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  const text = await response.text();
  const frames = text.split('\n\n');
  assert.equal(frames.pop(), '', 'the stream ends with a whole frame');
  const data = frames.filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
  assert.equal(data.at(-1), '[DONE]', text);
  assert.equal(data.indexOf('[DONE]'), data.length - 1, 'nothing after [DONE]');
  return data.slice(0, -1).map((d) => JSON.parse(d));
}

// A chat stream as front ends read it: the content deltas joined, the finish reason, the usage.
async function chatStream(response) {
  const chunks = await streamed(response);
  let content = '';
  let reasoning = '';
  let finish = null;
  let usage = null;
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk', JSON.stringify(c));
    if (c.usage) usage = c.usage;
    if (c.choices.length === 0) continue;
    content += c.choices[0].delta.content ?? '';
    reasoning += c.choices[0].delta.reasoning_content ?? '';
    finish = c.choices[0].finish_reason ?? finish;
  }
  return { content, reasoning, finish, usage };
}

async function textStream(response) {
  const chunks = await streamed(response);
  let text = '';
  let finish = null;
  let usage = null;
  for (const c of chunks) {
    assert.equal(c.object, 'text_completion', JSON.stringify(c));
    if (c.usage) usage = c.usage;
    if (c.choices.length === 0) continue;
    text += c.choices[0].text;
    finish = c.choices[0].finish_reason ?? finish;
  }
  return { text, finish, usage };
}

async function refused(response, field) {
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(body.error.message, field);
}

const openWebUiMessages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: [{ type: 'text', text: 'Write one line about the sea.' }] },
];

test('Open WebUI: a streamed chat with its model parameters', async () => {
  const r = await chatStream(
    await post('/v1/chat/completions', {
      stream: true,
      model: 'qwen3',
      stream_options: { include_usage: true },
      messages: openWebUiMessages,
      temperature: 0.8,
      top_p: 0.9,
      min_p: 0.05,
      max_tokens: 24,
      frequency_penalty: 0.5,
      presence_penalty: 0.3,
      reasoning_effort: 'low',
      seed: 42,
      stop: ['<|endoftext|>'],
      logit_bias: {},
      verbosity: 'medium',
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
  assert.ok(r.content.length + r.reasoning.length > 0, 'some text came back');
  assert.ok(r.usage && r.usage.completion_tokens <= 24 && r.usage.prompt_tokens > 0, JSON.stringify(r.usage));
});

test('Open WebUI: an unstreamed task request (a title for the chat)', async () => {
  const res = await post('/v1/chat/completions', {
    model: 'qwen3',
    messages: [
      {
        role: 'user',
        content:
          '### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n' +
          '### Output:\nJSON format: { "title": "your concise title here" }\n### Chat History:\n<chat_history>\n' +
          'USER: Write one line about the sea.\nASSISTANT: The sea is wide.\n</chat_history>',
      },
    ],
    stream: false,
    max_tokens: 20,
    metadata: { task: 'title_generation', chat_id: 'abc' },
    user: 'user-1',
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(typeof body.choices[0].message.content, 'string');
  assert.ok(body.usage.completion_tokens <= 20);
});

test('Open WebUI: an image part is read, and the text-only model is told it cannot see it', async () => {
  const r = await chatStream(
    await post('/v1/chat/completions', {
      stream: true,
      model: 'qwen3',
      max_tokens: 8,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
});

test('Open WebUI: a logit_bias it was given is refused, not ignored', async () => {
  await refused(
    await post('/v1/chat/completions', {
      stream: true,
      model: 'qwen3',
      messages: openWebUiMessages,
      logit_bias: { 1000: -100 },
    }),
    /logit_bias/,
  );
});

test('SillyTavern: a custom-source chat completion', async () => {
  const r = await chatStream(
    await post('/v1/chat/completions', {
      messages: [
        { role: 'system', content: "Write Seraphina's next reply in a fictional chat between Seraphina and User." },
        { role: 'system', content: '[Start a new Chat]' },
        { role: 'assistant', content: '*Seraphina smiles.* Welcome back.' },
        { role: 'user', content: 'Hello!' },
      ],
      model: 'qwen3',
      temperature: 1,
      max_tokens: 20,
      stream: true,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_p: 1,
      top_k: 0,
      stop: ['\nUser:', '\nSeraphina:', '<START>', '\n***', '\n\n\n'],
      logit_bias: {},
      seed: -1,
      n: 1,
      include_reasoning: false,
      reasoning_effort: 'medium',
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
  for (const s of ['\nUser:', '\nSeraphina:', '<START>']) assert.ok(!r.content.includes(s));
});

test('SillyTavern: a text completion of a prompt it formatted itself', async () => {
  const prompt =
    "<|im_start|>system\nWrite Seraphina's next reply.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n" +
    '<|im_start|>assistant\n';
  const r = await textStream(
    await post('/v1/completions', {
      prompt,
      model: 'qwen3',
      max_tokens: 20,
      stream: true,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.1,
      presence_penalty: 0,
      frequency_penalty: 0,
      stop: ['<|im_end|>', '\nUser:'],
      seed: 7,
      // Extensions of other servers' text-completion APIs: ignored.
      typical_p: 1,
      truncation_length: 4096,
      ban_eos_token: false,
      skip_special_tokens: true,
      add_bos_token: true,
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
  assert.ok(!r.text.includes('<|im_end|>'));
});

test('Continue: a streamed chat, its parts joined into strings', async () => {
  const r = await chatStream(
    await post('/v1/chat/completions', {
      messages: [
        { role: 'system', content: 'You are an expert software developer.' },
        { role: 'user', content: '```js\nfunction add(a, b) {}\n```\nComplete this function.' },
      ],
      model: 'qwen3',
      max_tokens: 30,
      temperature: 0.5,
      stream: true,
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
});

test('Continue: autocomplete on the legacy completions route, more than 4 stops', async () => {
  const stop = ['\n\n', '\r\n\r\n', '/src/', '#- coding: utf-8', '```', '\nfunction', '\nclass', '\n//'];
  const r = await textStream(
    await post('/v1/completions', {
      model: 'qwen3',
      max_tokens: 16,
      temperature: 0.01,
      frequency_penalty: 0,
      presence_penalty: 0,
      stream: true,
      stop,
      prompt: '// add.js\nfunction add(a, b) {\n  return',
    }),
  );
  assert.ok(['stop', 'length'].includes(r.finish));
  for (const s of stop) assert.ok(!r.text.includes(s), `stopped before ${JSON.stringify(s)}: ${JSON.stringify(r.text)}`);
});

test('fields that would change the answer unseen are refused by name', async () => {
  const chat = { model: 'qwen3', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] };
  await refused(await post('/v1/chat/completions', { ...chat, logprobs: true, top_logprobs: 2 }), /logprobs/);
  await refused(await post('/v1/chat/completions', { ...chat, n: 2 }), /n: only 1/);
  const text = { model: 'qwen3', max_tokens: 4, prompt: 'def f(' };
  // A FIM plugin that sends a suffix: pensieve does not do fill-in-the-middle for it.
  await refused(await post('/v1/completions', { ...text, suffix: ')\n' }), /suffix/);
  await refused(await post('/v1/completions', { ...text, logprobs: 1 }), /logprobs/);
  await refused(await post('/v1/completions', { ...text, prompt: ['a', 'b'] }), /one prompt/);
});
