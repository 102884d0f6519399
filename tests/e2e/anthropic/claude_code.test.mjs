// The real Claude Code CLI (pinned in package-lock.json) against `pensieve serve`: `claude -p
// "hello"` must succeed and the server must not have rejected a single request it made. Its
// prompt is 15–25k tokens and it asks for a large max_tokens, so it runs on the long-context
// chat model with that model's whole context.
import { test } from 'node:test';
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

test('claude -p "hello" --output-format json', { timeout: 600_000 }, async () => {
  const claude = [native, wrapper].find((p) => existsSync(p));
  assert.ok(
    claude,
    'Claude Code is not installed: scripts/test.sh installs it with `npm ci` in tests/e2e/anthropic ' +
      '(it needs the npm registry)',
  );
  const server = await startServer(chatModel(), ['--parallel', '2', '--api-key', 'sk-e2e-key']);
  const home = mkdtempSync(path.join(tmpdir(), 'pensieve-claude-home-'));
  try {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      ANTHROPIC_BASE_URL: server.baseURL,
      ANTHROPIC_API_KEY: 'sk-e2e-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    };
    const started = Date.now();
    const { code, stdout, stderr } = await new Promise((resolve) => {
      execFile(claude, ['-p', 'hello', '--output-format', 'json'], { env, cwd: home, timeout: 500_000, maxBuffer: 1 << 26 },
        (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
    });
    const log = server.log();
    assert.equal(code, 0, `claude exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}\nserver log:\n${log}`);
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    assert.equal(result.type, 'result', stdout);
    assert.equal(result.is_error, false, stdout);
    assert.equal(typeof result.result, 'string');
    assert.deepEqual(rejectedLines(log), [], log);
    assert.match(log, /POST \/v1\/messages 200/);
    const prompts = [...log.matchAll(/generation \S+ \w+: (\d+) prompt tokens/g)].map((m) => Number(m[1]));
    assert.ok(prompts.length >= 1, log);
    console.log(`# claude -p took ${Date.now() - started} ms; generations with prompts of ${prompts.join(', ')} tokens`);
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
});
