// The real Claude Code CLI against `pensieve serve`: `claude -p "hello"` must succeed and the
// server must not have rejected a single request it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, chatModel, rejectedLines } from './harness.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const native = path.join(here, 'node_modules', '@anthropic-ai', 'claude-code-linux-x64', 'claude');
const wrapper = path.join(here, 'node_modules', '.bin', 'claude');
const claude = existsSync(native) ? native : wrapper;

test('claude -p "hello" --output-format json', { timeout: 900_000 }, async () => {
  const server = await startServer(chatModel(), ['--parallel', '4', '--ctx-size', '131072', '--api-key', 'sk-e2e-key']);
  try {
    const home = mkdtempSync(path.join(tmpdir(), 'pensieve-claude-home-'));
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      ANTHROPIC_BASE_URL: server.baseURL,
      ANTHROPIC_API_KEY: 'sk-e2e-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      CI: '1',
    };
    const { code, stdout, stderr } = await new Promise((resolve) => {
      execFile(claude, ['-p', 'hello', '--output-format', 'json'], { env, cwd: home, timeout: 800_000, maxBuffer: 1 << 26 },
        (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr }));
    });
    const log = server.log();
    assert.equal(code, 0, `claude exited ${code}\nstdout: ${stdout}\nstderr: ${stderr}\nserver log:\n${log}`);
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    assert.equal(result.type, 'result');
    assert.equal(result.is_error, false, stdout);
    assert.equal(typeof result.result, 'string');
    assert.deepEqual(rejectedLines(log), [], log);
    assert.match(log, /POST \/v1\/messages 200/);
  } finally {
    await server.stop();
  }
});
