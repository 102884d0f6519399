// `pensieve claude`: the real Claude Code CLI end to end on the chat model (it starts a server,
// Claude Code answers, the server is gone afterwards), Claude Code's tool loop driven by a model
// scripted to call its Bash tool, and, with stand-in `claude` scripts, what the launcher does
// around Claude Code: reusing a running server and leaving it running, the environment it sets,
// exit codes, SIGTERM, a missing `claude`, a server that cannot start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chatModel, freePort, startServer, smallModel } from '../anthropic/harness.mjs';
import {
  claudeCli,
  userDirs,
  userEnv,
  runPensieve,
  startedServerPid,
  processGone,
  portClosed,
  scriptedModel,
  fakeClaude,
  waitFor,
} from './launch_harness.mjs';

function requireClaude() {
  const cli = claudeCli();
  assert.ok(cli, 'Claude Code is not installed: scripts/test.sh installs it with `npm ci` in tests/e2e/anthropic');
  return cli;
}

// The JSON result Claude Code prints last with --output-format json.
function claudeResult(stdout) {
  const last = stdout.trim().split('\n').at(-1);
  return JSON.parse(last);
}

async function assertServerGone(run) {
  const pid = startedServerPid(run.stderr);
  assert.ok(pid, `pensieve claude did not report the server it started:\n${run.stderr}`);
  assert.ok(processGone(pid), `the server (pid ${pid}) is still running`);
  return pid;
}

test('pensieve claude -- -p hello: Claude Code answers, and the server it started is gone', { timeout: 400_000 }, async () => {
  const cli = requireClaude();
  const dirs = userDirs('claude-hello');
  const port = await freePort();
  const log = path.join(dirs.root, 'serve.log');
  const run = await runPensieve(
    ['claude', '--model', chatModel(), '--port', String(port), '--server-log', log, '--', '-p', 'hello', '--output-format', 'json'],
    { env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: cli, DISABLE_AUTOUPDATER: '1' }), cwd: dirs.home },
  );
  const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '(no log)';
  const why = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\nserver log:\n${serverLog}`;
  assert.equal(run.code, 0, why);
  const result = claudeResult(run.stdout);
  assert.equal(result.type, 'result', why);
  assert.equal(result.is_error, false, why);
  assert.equal(typeof result.result, 'string', why);
  // Every request fitted the context: none was refused (a max_tokens too large for the context
  // would have been a 400 first).
  assert.match(serverLog, /POST \/v1\/messages 200/, why);
  assert.doesNotMatch(serverLog, / rejected:/, why);
  await assertServerGone(run);
  assert.ok(await portClosed(port), `port ${port} still answers`);
  assert.match(serverLog, /stopped/, why);
  rmSync(dirs.root, { recursive: true, force: true });
});

test("Claude Code's tool loop: a model that calls Bash makes the marker, and the next request carries the result", { timeout: 400_000 }, async () => {
  const cli = requireClaude();
  const dirs = userDirs('claude-tools');
  const marker = path.join(dirs.home, 'marker');
  // The Hermes-format call Qwen3's template asks for, in three tokens of the scripted model.
  const model = scriptedModel('tool-call-bash', 'reply', [
    '<tool_call>',
    `\n{"name": "Bash", "arguments": {"command": "touch ${marker}"}}\n`,
    '</tool_call>',
  ]);
  const port = await freePort();
  const log = path.join(dirs.root, 'serve.log');
  const run = await runPensieve(
    ['claude', '--model', model, '--port', String(port), '--server-log', log, '--',
      '-p', 'Create the marker file.', '--max-turns', '2', '--allowedTools', 'Bash', '--output-format', 'json'],
    { env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: cli, DISABLE_AUTOUPDATER: '1' }), cwd: dirs.home },
  );
  const serverLog = existsSync(log) ? readFileSync(log, 'utf8') : '(no log)';
  const why = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\nserver log:\n${serverLog}`;
  assert.ok(existsSync(marker), `the Bash tool did not create ${marker}\n${why}`);
  // The first request ends with the user's prompt, a later one with the tool's result.
  const generations = serverLog.split('\n').filter((l) => / generation \S+ \w+: /.test(l));
  assert.ok(generations.some((l) => /the last user \[[^\]]*tool_result/.test(l)), why);
  // The model calls the tool again on the second turn, so Claude Code stops at --max-turns; it
  // still reports its result, and its exit status is passed on.
  const result = claudeResult(run.stdout);
  assert.equal(result.type, 'result', why);
  assert.ok(result.num_turns >= 2, why);
  assert.equal(run.code, result.is_error ? 1 : 0, why);
  await assertServerGone(run);
  rmSync(dirs.root, { recursive: true, force: true });
});

test('a server already running on the port is used, left running, and Claude Code gets its settings', { timeout: 120_000 }, async () => {
  const dirs = userDirs('claude-reuse');
  const server = await startServer(smallModel(), ['--api-key', 'sk-reuse']);
  try {
    const record = path.join(dirs.root, 'record');
    const claude = fakeClaude(dirs.root, record, 'exit 7');
    const run = await runPensieve(['claude', '--port', String(server.port), '--', '--one', 'two words'], {
      env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: claude, PENSIEVE_API_KEY: 'sk-reuse', ANTHROPIC_API_KEY: 'sk-real' }),
    });
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stderr, /using the server already running/);
    const [args, env] = readFileSync(record, 'utf8').split('---\n');
    assert.deepEqual(args.trim().split('\n'), ['--one', 'two words']);
    const vars = Object.fromEntries(env.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(vars.ANTHROPIC_BASE_URL, server.baseURL);
    assert.equal(vars.ANTHROPIC_AUTH_TOKEN, 'sk-reuse');
    assert.equal(vars.ANTHROPIC_API_KEY, undefined, 'a key of the real API must not reach the local server');
    const models = await (await fetch(`${server.baseURL}/v1/models`, { headers: { 'x-api-key': 'sk-reuse' } })).json();
    for (const slot of ['ANTHROPIC_MODEL', 'ANTHROPIC_DEFAULT_HAIKU_MODEL', 'ANTHROPIC_SMALL_FAST_MODEL']) {
      assert.equal(vars[slot], models.data[0].id, slot);
    }
    assert.equal(vars.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, '1');
    // A quarter of the server's context (within Claude Code's 1024..32000).
    const health = await (await fetch(`${server.baseURL}/health`, { headers: { 'x-api-key': 'sk-reuse' } })).json();
    const context = health.model.context_size;
    assert.equal(Number(vars.CLAUDE_CODE_MAX_OUTPUT_TOKENS), Math.min(32000, Math.max(1024, Math.floor(context / 4))));
    assert.equal(Number(vars.CLAUDE_CODE_MAX_CONTEXT_TOKENS), context);
    // Not started by it, so not stopped by it.
    assert.equal((await fetch(`${server.baseURL}/health`)).status, 200);

    // Asked for another model than the one running there: refused, nothing started.
    const other = await runPensieve(['claude', '--port', String(server.port), '--model', chatModel()], {
      env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: claude, PENSIEVE_API_KEY: 'sk-reuse' }),
    });
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /serves .*, not /);
    // Without the key it cannot see what runs there, and says so.
    const keyless = await runPensieve(['claude', '--port', String(server.port)], {
      env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: claude }),
    });
    assert.equal(keyless.code, 1, keyless.stderr);
    assert.match(keyless.stderr, /wants an API key: set PENSIEVE_API_KEY/);
  } finally {
    await server.stop();
    rmSync(dirs.root, { recursive: true, force: true });
  }
});

test('SIGTERM reaches Claude Code, its status is passed on, and the started server stops', { timeout: 120_000 }, async () => {
  const dirs = userDirs('claude-term');
  const record = path.join(dirs.root, 'record');
  const ready = path.join(dirs.root, 'ready');
  const claude = fakeClaude(dirs.root, record, `trap 'echo TERM >> ${ready}; exit 143' TERM\necho up > ${ready}\nwhile :; do sleep 0.05; done`);
  const port = await freePort();
  const run = await runPensieve(['claude', '--model', smallModel(), '--port', String(port), '--ctx-size', '2048'], {
    env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: claude }),
    onStart: (child) =>
      waitFor(() => existsSync(ready), 'the stand-in claude to start').then(() => child.kill('SIGTERM')),
  });
  assert.equal(run.code, 143, run.stderr);
  assert.match(readFileSync(ready, 'utf8'), /TERM/);
  // The server it started answered while Claude Code ran, with the launcher's own key.
  const env = readFileSync(record, 'utf8');
  assert.match(env, new RegExp(`ANTHROPIC_BASE_URL=http://127.0.0.1:${port}\n`));
  assert.match(env, /ANTHROPIC_AUTH_TOKEN=pensieve-[0-9a-f]{32}\n/);
  assert.match(run.stderr, /warning: the context of 2048 tokens leaves little room/);
  await assertServerGone(run);
  assert.ok(await portClosed(port));
  rmSync(dirs.root, { recursive: true, force: true });
});

test('without Claude Code installed it says how to install it, and starts nothing', async () => {
  const dirs = userDirs('claude-missing');
  const port = await freePort();
  const run = await runPensieve(['claude', '--model', smallModel(), '--port', String(port)], {
    env: { ...userEnv(dirs), PATH: path.join(dirs.root, 'empty-path') },
  });
  assert.equal(run.code, 127, run.stderr);
  assert.match(run.stderr, /Claude Code is not installed/);
  assert.match(run.stderr, /npm install -g @anthropic-ai\/claude-code/);
  assert.ok(await portClosed(port));
  rmSync(dirs.root, { recursive: true, force: true });
});

test('a server that cannot start is reported with the end of its log', async () => {
  const dirs = userDirs('claude-bad-model');
  const bad = path.join(dirs.root, 'not-a-model.gguf');
  writeFileSync(bad, 'this is not a GGUF file\n');
  const claude = fakeClaude(dirs.root, path.join(dirs.root, 'record'));
  const port = await freePort();
  const run = await runPensieve(['claude', '--model', bad, '--port', String(port)], {
    env: userEnv(dirs, { PENSIEVE_CLAUDE_BIN: claude }),
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /pensieve serve exited \(status 1\) before it was ready/);
  assert.match(run.stderr, /pensieve serve: /);  // the server's own error, from its log
  assert.ok(!existsSync(path.join(dirs.root, 'record')), 'Claude Code must not run without a server');
  rmSync(dirs.root, { recursive: true, force: true });
});
