// Constrained decoding end to end (issue 12): a random-weight model, which left alone garbles
// every tool call, served by the real `pensieve serve` and driven by the official SDK. With
// tool_choice "any" or "tool", every answer is a tool_use whose input validates against the
// tool's input_schema; with "auto", every call the model opens does; and with
// output_config.format every answer is JSON valid for its schema — checked by a real JSON Schema
// validator (ajv), over many sampled answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import Ajv from 'ajv';
import { startServer, smallModel, familyModel, MODEL, user } from './harness.mjs';

const RUNS = 50;

// Shaped like Claude Code's own tools: nested objects, enums, arrays, optional fields, no extras.
// Free strings have a maxLength here: a random-weight model rarely writes a closing quote, and a
// call cut off by max_tokens is not what these tests are about (the grammar tests in
// tests/unit/grammar cover the unbounded schemas).
const tools = [
  {
    name: 'Bash', description: 'Executes a given bash command in a persistent shell session. '.repeat(8),
    input_schema: {
      type: 'object',
      properties: {
        command: { type: 'string', maxLength: 120, description: 'The command to execute' },
        timeout: { type: 'number', description: 'Optional timeout in milliseconds (max 600000)' },
        description: { type: 'string', maxLength: 120 },
        run_in_background: { type: 'boolean' },
      },
      required: ['command'], additionalProperties: false,
    },
  },
  {
    name: 'Edit', description: 'Performs exact string replacements in files.',
    input_schema: {
      type: 'object',
      properties: {
        file_path: { type: 'string', maxLength: 120 }, old_string: { type: 'string', maxLength: 120 },
        new_string: { type: 'string', maxLength: 120 },
        replace_all: { type: 'boolean', default: false },
      },
      required: ['file_path', 'old_string', 'new_string'], additionalProperties: false,
    },
  },
  {
    name: 'TodoWrite', description: 'Update the todo list for the current session.',
    input_schema: {
      type: 'object',
      properties: {
        todos: {
          type: 'array', maxItems: 4,
          items: {
            type: 'object',
            properties: {
              content: { type: 'string', minLength: 1, maxLength: 40 },
              status: { type: 'string', enum: ['pending', 'in_progress', 'completed'] },
              activeForm: { type: 'string', minLength: 1, maxLength: 40 },
            },
            required: ['content', 'status', 'activeForm'], additionalProperties: false,
          },
        },
      },
      required: ['todos'], additionalProperties: false,
    },
  },
];

const outputSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 30 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    email: { type: ['string', 'null'], format: 'email' },
    tags: { type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, maxItems: 5 },
  },
  required: ['name', 'age', 'tags'], additionalProperties: false,
};

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = Object.fromEntries(tools.map((t) => [t.name, ajv.compile(t.input_schema)]));

async function withServer(body, model = smallModel()) {
  const server = await startServer(model, ['--ctx-size', '4096', '--cache-dir', 'off']);
  try {
    return await body(new Anthropic({ baseURL: server.baseURL, apiKey: 'unused', maxRetries: 0 }), server);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, server.log());
  }
}

// One call or more (parallel calls are allowed unless disable_parallel_tool_use), each valid.
// A run of calls may meet max_tokens: the one it cut off is incomplete (and says so), the ones
// before it must be valid.
function assertValidCalls(msg, expectedName, onlyOne = false) {
  const uses = msg.content.filter((b) => b.type === 'tool_use');
  if (msg.stop_reason === 'max_tokens' && !onlyOne) uses.pop();
  else assert.equal(msg.stop_reason, 'tool_use');
  assert.ok(onlyOne ? uses.length === 1 : uses.length >= 1, JSON.stringify(msg.content));
  for (const use of uses) {
    if (expectedName) assert.equal(use.name, expectedName);
    const validate = validators[use.name];
    assert.ok(validate, `unknown tool ${use.name}`);
    assert.ok(validate(use.input), `${use.name} ${JSON.stringify(use.input)}: ${JSON.stringify(validate.errors)}`);
  }
  return uses;
}

test('tool_choice any yields tool_use', async () => {
  await withServer(async (client) => {
    const msg = await client.messages.create({
      model: MODEL, max_tokens: 2048, messages: user('List the files here.'), tools, tool_choice: { type: 'any' },
    });
    assertValidCalls(msg);
  });
});

test(`tool_choice any: ${RUNS} sampled answers are all valid tool calls`, async () => {
  await withServer(async (client) => {
    const names = new Set();
    for (let i = 0; i < RUNS; i++) {
      // Every other request allows one call only.
      const onlyOne = i % 2 === 1;
      const msg = await client.messages.create({
        model: MODEL, max_tokens: 2048, temperature: 1, messages: user(`Task number ${i}: tidy the repository.`),
        tools, tool_choice: { type: 'any', disable_parallel_tool_use: onlyOne },
      });
      for (const use of assertValidCalls(msg, undefined, onlyOne)) names.add(use.name);
    }
    assert.ok(names.size >= 2, `the model picks among the tools: ${[...names]}`);
  });
});

test(`tool_choice tool: ${RUNS} sampled answers call that tool with valid input, streamed too`, async () => {
  await withServer(async (client) => {
    for (let i = 0; i < RUNS; i++) {
      const name = tools[i % tools.length].name;
      const request = {
        model: MODEL, max_tokens: 2048, temperature: 1, messages: user(`Step ${i}.`), tools,
        tool_choice: { type: 'tool', name },
      };
      const msg = i % 2 === 0 ? await client.messages.create(request)
                              : await client.messages.stream(request).finalMessage();
      assertValidCalls(msg, name);
    }
  });
});

test(`output_config json_schema: ${RUNS} sampled answers are JSON valid for the schema`, async () => {
  const validate = ajv.compile(outputSchema);
  await withServer(async (client) => {
    for (let i = 0; i < RUNS; i++) {
      const msg = await client.messages.create({
        model: MODEL, max_tokens: 2048, temperature: 1, messages: user(`Describe person ${i}.`),
        output_config: { format: { type: 'json_schema', schema: outputSchema } },
      });
      const text = msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
      assert.equal(msg.stop_reason, 'end_turn', text);
      const value = JSON.parse(text);
      assert.ok(validate(value), `${text}: ${JSON.stringify(validate.errors)}`);
    }
  });
});

test(`tool_choice auto: every call the model opens in ${RUNS} sampled answers is valid`, async () => {
  await withServer(async (client) => {
    let calls = 0;
    for (let i = 0; i < RUNS; i++) {
      const msg = await client.messages.create({
        model: MODEL, max_tokens: 600, temperature: 1, messages: user(`Hello ${i}.`), tools,
        tool_choice: { type: 'auto' },
      });
      const uses = msg.content.filter((b) => b.type === 'tool_use');
      // A call still open when max_tokens ran out is cut off, as with any model.
      if (msg.stop_reason === 'max_tokens') uses.pop();
      for (const use of uses) {
        calls += 1;
        const validate = validators[use.name];
        assert.ok(validate, `unknown tool ${use.name}`);
        assert.ok(validate(use.input), `${use.name} ${JSON.stringify(use.input)}: ${JSON.stringify(validate.errors)}`);
      }
    }
    // The random model opens a call now and then (its <tool_call> token is as likely as any).
    assert.ok(calls > 0, 'no call was opened: nothing was checked');
  });
});

test('a schema the grammar cannot express is a 400 naming the keyword', async () => {
  await withServer(async (client) => {
    await assert.rejects(
      client.messages.create({
        model: MODEL, max_tokens: 16, messages: user('Hi'),
        output_config: { format: { type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } } },
      }),
      (e) => e.status === 400 && /pattern/.test(e.message),
    );
  });
});

// Other call syntaxes, each on a model given that family's template (and the control tokens it
// writes): Qwen3-Coder's parameter markup, whose values the parser reads back as text or JSON; and
// Kimi-K2, whose calls open and close with control tokens.
const FAMILY_RUNS = 8;
const families = [
  { template: 'Qwen3-Coder', controls: [] },
  {
    template: 'Kimi-K2-Instruct',
    controls: ['<|im_user|>', '<|im_assistant|>', '<|im_middle|>', '<|im_system|>', '<|tool_calls_section_begin|>',
      '<|tool_call_begin|>', '<|tool_call_argument_begin|>', '<|tool_call_end|>', '<|tool_calls_section_end|>'],
  },
];
for (const { template, controls } of families) {
  test(`${template}: tool_choice any and tool, ${FAMILY_RUNS} sampled answers each, all valid tool calls`, async () => {
    await withServer(async (client) => {
      for (let i = 0; i < FAMILY_RUNS; i++) {
        const onlyOne = i % 2 === 1;
        const any = await client.messages.create({
          model: MODEL, max_tokens: 2048, temperature: 1, messages: user(`Task ${i}.`),
          tools, tool_choice: { type: 'any', disable_parallel_tool_use: onlyOne },
        });
        assertValidCalls(any, undefined, onlyOne);
        const name = tools[i % tools.length].name;
        const forced = await client.messages.create({
          model: MODEL, max_tokens: 2048, temperature: 1, messages: user(`Step ${i}.`),
          tools, tool_choice: { type: 'tool', name, disable_parallel_tool_use: true },
        });
        assertValidCalls(forced, name, true);
      }
    }, familyModel(template, controls));
  });
}
