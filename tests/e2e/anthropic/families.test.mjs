// The newer model families end to end: the fixtures of gpt-oss (harmony format, o200k vocabulary)
// and Gemma 3 (its own template), served by the real `pensieve serve` and driven by the official
// SDK: a streamed message on each, and on gpt-oss a tool call and its result round-tripping
// through the harmony format. The weights are random, so the text is not judged; the protocol is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { startServer, fixtures, assertOutputTokens, MODEL, user } from './harness.mjs';

const tools = [{
  name: 'get_time', description: 'The current time in a time zone',
  // Bounded: a random-weight model rarely closes a string, and the call must end within max_tokens.
  input_schema: { type: 'object', properties: { tz: { type: 'string', maxLength: 16 } } },
}];

async function withServer(file, body) {
  const server = await startServer(path.join(fixtures, 'models', file), ['--ctx-size', '2048', '--cache-dir', 'off']);
  try {
    return await body(new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 }), server);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, server.log());
  }
}

// The whole prompt, as the API splits it: read from the cache, written to it, and neither.
const promptTokens = (u) => u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;

for (const file of ['gpt-oss-f16.gguf', 'gemma3-f16.gguf']) {
  test(`${file}: a streamed message through the SDK`, async () => {
    await withServer(file, async (client) => {
      const messages = [
        { role: 'user', content: 'Hello there.' },
        { role: 'assistant', content: 'Hi! How can I help?' },
        { role: 'user', content: 'Tell me about the sea.' },
      ];
      const stream = client.messages.stream({ model: MODEL, max_tokens: 12, system: 'Be brief.', messages });
      let text = '';
      stream.on('text', (t) => (text += t));
      const msg = await stream.finalMessage();
      assert.equal(msg.type, 'message');
      assert.ok(['end_turn', 'max_tokens'].includes(msg.stop_reason), msg.stop_reason);
      assertOutputTokens(msg.usage, msg.stop_reason, 12);
      const blocks = msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
      assert.equal(blocks, text);
      const counted = await client.messages.countTokens({ model: MODEL, system: 'Be brief.', messages });
      assert.equal(promptTokens(msg.usage), counted.input_tokens);
    });
  });
}

test('gpt-oss-f16.gguf: a tool call and its result round-trip through harmony with the SDK', async () => {
  await withServer('gpt-oss-f16.gguf', async (client) => {
    const question = user('What time is it in UTC?');
    // Forced: the server opens the harmony call to functions.get_time, the model completes it
    // (held to the tool's schema by constrained decoding).
    const call = await client.messages.stream({
      model: MODEL, max_tokens: 400, messages: question, tools, tool_choice: { type: 'tool', name: 'get_time' },
    }).finalMessage();
    const use = call.content.find((b) => b.type === 'tool_use');
    assert.ok(use, JSON.stringify(call.content));
    assert.equal(use.name, 'get_time');
    assert.ok(Object.keys(use.input).every((k) => k === 'tz'), JSON.stringify(use.input));
    if ('tz' in use.input) assert.ok(typeof use.input.tz === 'string' && [...use.input.tz].length <= 16);
    assert.match(use.id, /^toolu_/);
    assert.equal(call.stop_reason, 'tool_use');

    // Its result goes back; the answer streams as a message of its own.
    const history = [...question, { role: 'assistant', content: call.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12:00' }] }];
    const answer = await client.messages.stream({ model: MODEL, max_tokens: 12, messages: history, tools })
      .finalMessage();
    assert.equal(answer.type, 'message');
    assert.ok(['end_turn', 'max_tokens', 'tool_use'].includes(answer.stop_reason), answer.stop_reason);
    const counted = await client.messages.countTokens({ model: MODEL, messages: history, tools });
    const without = await client.messages.countTokens({ model: MODEL, messages: question, tools });
    assert.ok(counted.input_tokens > without.input_tokens, 'the call and its result are in the prompt');
    assert.equal(promptTokens(answer.usage), counted.input_tokens);
  });
});
