// The real Claude Code CLI (pinned in package-lock.json) against `pensieve serve`: `claude -p
// "hello"` must succeed and the server must not have rejected a single request it made. Its
// prompt is 12–25k tokens and it asks for a large max_tokens, so it runs on the long-context
// chat model with that model's whole context. Then the same command again, as a user's next
// invocation: its prompt must come almost entirely from the KV cache the first run left behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, chatModel, rejectedLines } from './harness.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
// The platform's native build, which npm installs as an optional dependency of the CLI package.
const native = path.join(here, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude');
const wrapper = path.join(here, 'node_modules', '.bin', 'claude');

// Side requests (quota check, title) are tens to hundreds of tokens; the main requests carry
// Claude Code's system prompt and tool schemas, over 10k tokens.
const MAIN_PROMPT_TOKENS = 2000;
// Per run, so that two runs stay inside CTest's 900 s for this file.
const RUN_TIMEOUT_MS = 300_000;

// One server and one HOME (also the cwd) for both runs, as for a user running claude twice.
let shared;
async function setup() {
  const claude = [native, wrapper].find((p) => existsSync(p));
  assert.ok(
    claude,
    'Claude Code is not installed: scripts/test.sh installs it with `npm ci` in tests/e2e/anthropic ' +
      '(it needs the npm registry)',
  );
  const server = await startServer(chatModel(), ['--parallel', '2', '--api-key', 'sk-e2e-key']);
  const home = mkdtempSync(path.join(tmpdir(), 'pensieve-claude-home-'));
  return { claude, server, home };
}
after(async () => {
  const s = await shared?.catch(() => undefined);
  if (!s) return;
  await s.server.stop();
  rmSync(s.home, { recursive: true, force: true });
});

// The /v1/messages generations logged since `from`: { id, prompt, cached }.
function generations(log, from) {
  return [...log.slice(from).matchAll(/generation (\S+) \w+: (\d+) prompt tokens \((\d+) cached\)/g)].map((m) => ({
    id: m[1],
    prompt: Number(m[2]),
    cached: Number(m[3]),
  }));
}

async function runClaude() {
  shared ??= setup();
  const { claude, server, home } = await shared;
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    ANTHROPIC_BASE_URL: server.baseURL,
    ANTHROPIC_API_KEY: 'sk-e2e-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  const from = server.log().length;
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const options = { env, cwd: home, timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 26 };
    execFile(claude, ['-p', 'hello', '--output-format', 'json'], options, (err, stdout, stderr) =>
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
  const ms = Date.now() - started;
  // A streamed generation's log line follows its response: wait until each 200 has one.
  const deadline = Date.now() + 10_000;
  const done = () => {
    const log = server.log().slice(from);
    return generations(log, 0).length >= (log.match(/POST \/v1\/messages 200/g) ?? []).length;
  };
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const log = server.log();
  return { code, stdout, stderr, ms, log, runLog: log.slice(from), gens: generations(log, from) };
}

// Run once; both tests need it, whichever of them runs first.
let firstRun;
const first = () => (firstRun ??= runClaude());

function assertSucceeded({ code, stdout, stderr, log, runLog }) {
  assert.equal(code, 0, `claude exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}\nserver log:\n${log}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.equal(result.type, 'result', stdout);
  assert.equal(result.is_error, false, stdout);
  assert.equal(typeof result.result, 'string');
  assert.deepEqual(rejectedLines(runLog), [], log);
  assert.match(runLog, /POST \/v1\/messages 200/);
  return result;
}

test('claude -p "hello" --output-format json', { timeout: 400_000 }, async () => {
  const run = await first();
  assertSucceeded(run);
  const prompts = run.gens.map((g) => g.prompt);
  assert.ok(prompts.length >= 1, run.log);
  console.log(`# claude -p took ${run.ms} ms; generations with prompts of ${prompts.join(', ')} tokens`);
});

test('a second claude -p "hello" reads its prompt from the first run\'s cache', { timeout: 400_000 }, async () => {
  const one = await first();
  assertSucceeded(one);
  const two = await runClaude();
  const result = assertSucceeded(two);
  const show = (gens) =>
    gens.map((g) => `${g.prompt} (${g.cached} cached, ${((100 * g.cached) / g.prompt).toFixed(2)}%)`).join(', ');
  console.log(`# first run ${one.ms} ms: ${show(one.gens)}; second run ${two.ms} ms: ${show(two.gens)}`);

  // A fresh server: the first run's first request cannot have had anything cached, so the second
  // run's hits come from what the first left behind.
  assert.equal(one.gens[0]?.cached, 0, one.log);
  // Every main request of the second run must be ≥ 95% cached: its system prompt and tools are
  // the first run's. Side requests are left out: their few tokens are not what caching saves,
  // and the server always computes at least one token, so their ratio says little.
  const main = two.gens.filter((g) => g.prompt >= MAIN_PROMPT_TOKENS);
  assert.ok(main.length >= 1, `the second run made no request of ${MAIN_PROMPT_TOKENS}+ tokens:\n${two.log}`);
  for (const g of main) {
    const why = `request ${g.id}: ${g.cached} of ${g.prompt} prompt tokens cached\n${two.log}`;
    assert.ok(g.cached / g.prompt >= 0.95, why);
  }
  // The same as Claude Code saw it in the API's usage (summed over the run's requests).
  // input_tokens and cache_creation_input_tokens together are what was computed.
  const { input_tokens: kept, cache_creation_input_tokens: written, cache_read_input_tokens: cached } = result.usage;
  assert.ok(cached / (cached + written + kept) >= 0.95, `claude's usage: ${JSON.stringify(result.usage)}`);
});
