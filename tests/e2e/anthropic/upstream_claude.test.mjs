// The real Claude Code CLI through an upstream-mode front: `claude -p "hello"` against
// `pensieve serve --upstream A --upstream B`, both upstreams real `pensieve serve` instances on
// the long-context chat model. Claude Code's requests (a 12–25k-token prompt, tools, a large
// max_tokens, count_tokens calls) cross the front as chat completions; it must succeed with no
// request refused by the front or by an upstream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, startFront, chatModel, rejectedLines } from './harness.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const native = path.join(here, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude');
const wrapper = path.join(here, 'node_modules', '.bin', 'claude');
const MAIN_PROMPT_TOKENS = 2000;
const RUN_TIMEOUT_MS = 300_000;

let shared;
async function setup() {
  const claude = [native, wrapper].find((p) => existsSync(p));
  assert.ok(claude, 'Claude Code is not installed: scripts/test.sh installs it with `npm ci` in tests/e2e/anthropic');
  const upstreamArgs = ['--parallel', '2', '--api-key', 'sk-upstream'];
  const upstreams = await Promise.all([startServer(chatModel(), upstreamArgs), startServer(chatModel(), upstreamArgs)]);
  const front = await startFront(upstreams.map((u) => u.baseURL), ['--upstream-key', 'sk-upstream', '--api-key', 'sk-e2e-key']);
  const home = mkdtempSync(path.join(tmpdir(), 'pensieve-claude-front-'));
  return { claude, front, upstreams, home };
}
after(async () => {
  const s = await shared?.catch(() => undefined);
  if (!s) return;
  await s.front.stop();
  for (const u of s.upstreams) await u.stop();
  rmSync(s.home, { recursive: true, force: true });
});

const generations = (log) =>
  [...log.matchAll(/generation (\S+) \w+: (\d+) prompt tokens \((\d+) cached\)/g)].map((m) => ({
    id: m[1], prompt: Number(m[2]), cached: Number(m[3]),
  }));

async function runClaude() {
  shared ??= setup();
  const { claude, front, upstreams, home } = await shared;
  const from = [front, ...upstreams].map((s) => s.log().length);
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    ANTHROPIC_BASE_URL: front.baseURL,
    ANTHROPIC_API_KEY: 'sk-e2e-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const options = { env, cwd: home, timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 26 };
    execFile(claude, ['-p', 'hello', '--output-format', 'json'], options, (err, stdout, stderr) =>
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
  });
  // Each relayed generation's log line follows its response.
  await new Promise((r) => setTimeout(r, 500));
  const logs = [front, ...upstreams].map((s, i) => s.log().slice(from[i]));
  return { code, stdout, stderr, front: logs[0], upstreams: logs.slice(1) };
}

function assertSucceeded(run) {
  const all = `front:\n${run.front}\nupstream A:\n${run.upstreams[0]}\nupstream B:\n${run.upstreams[1]}`;
  assert.equal(run.code, 0, `claude exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\n${all}`);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1));
  assert.equal(result.type, 'result', run.stdout);
  assert.equal(result.is_error, false, run.stdout);
  assert.deepEqual(rejectedLines(run.front), [], all);
  for (const log of run.upstreams) assert.deepEqual(rejectedLines(log), [], all);
  assert.match(run.front, /POST \/v1\/messages 200/);
  assert.match(run.front, /relayed from/);
  return result;
}

test('claude -p "hello" through the front', { timeout: 400_000 }, async () => {
  const run = await runClaude();
  assertSucceeded(run);
  // Its main requests (the long prompt) reached an upstream whole and were answered there.
  const main = run.upstreams.flatMap((log) => generations(log)).filter((g) => g.prompt >= MAIN_PROMPT_TOKENS);
  assert.ok(main.length >= 1, `no main request reached an upstream:\n${run.upstreams.join('\n')}`);
});
