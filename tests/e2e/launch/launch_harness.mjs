// What the launcher tests share: running `pensieve` as a user would (its own HOME and state
// folders), scripted models from make_chat_model, and checks that a process or port is gone.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fixtures } from '../anthropic/harness.mjs';

export const here = path.dirname(new URL(import.meta.url).pathname);
export const workDir = process.env.LAUNCH_WORK_DIR ?? '/tmp/pensieve-launch-e2e';

// The Claude Code CLI that tests/e2e/anthropic's `npm ci` installs: the platform's native build,
// else the npm wrapper.
export function claudeCli() {
  const modules = path.join(here, '..', 'anthropic', 'node_modules');
  return [
    path.join(modules, '@anthropic-ai', 'claude-code-linux-x64', 'claude'),
    path.join(modules, '.bin', 'claude'),
  ].find((p) => existsSync(p));
}

// A fresh HOME, state and cache folder for one run, so that nothing reads or writes the user's.
export function userDirs(name) {
  const root = mkdtempSync(path.join(tmpdir(), `pensieve-${name}-`));
  const dirs = { root, home: path.join(root, 'home'), state: path.join(root, 'state'), cache: path.join(root, 'cache') };
  for (const d of [dirs.home, dirs.state, dirs.cache]) mkdirSync(d, { recursive: true });
  return dirs;
}

export function userEnv(dirs, extra = {}) {
  return {
    PATH: process.env.PATH,
    HOME: dirs.home,
    XDG_STATE_HOME: dirs.state,
    XDG_CACHE_HOME: dirs.cache,
    ...extra,
  };
}

// Runs `pensieve ARGS` to its end: { code, signal, stdout, stderr, pid }. `onStart` gets the child.
export function runPensieve(args, { env, cwd, timeoutMs = 600_000, onStart } = {}) {
  if (!process.env.PENSIEVE_BIN) throw new Error('PENSIEVE_BIN is not set (run through ctest)');
  return new Promise((resolve) => {
    const child = spawn(process.env.PENSIEVE_BIN, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    onStart?.(child, () => stderr);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setTimeout(() => resolve({ code, signal, stdout, stderr, pid: child.pid }), 50);
    });
  });
}

// The server `pensieve claude` started, from its own report.
export function startedServerPid(stderr) {
  const m = stderr.match(/started pensieve serve \(pid (\d+)\)/);
  return m ? Number(m[1]) : null;
}

export function processGone(pid) {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return e.code === 'ESRCH';
  }
}

export function portClosed(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

// A make_chat_model model scripted to answer `pieces` in order (then end its turn) or, with
// loop, to repeat them without end. Built once per name.
export function scriptedModel(name, mode, pieces, context = 65536) {
  if (!process.env.MAKE_CHAT_MODEL) throw new Error('MAKE_CHAT_MODEL is not set (run through ctest)');
  mkdirSync(workDir, { recursive: true });
  const out = path.join(workDir, `${name}.gguf`);
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(process.env.MAKE_CHAT_MODEL, [
    path.join(fixtures, 'vocab', 'ggml-vocab-gpt-2.gguf'),
    path.join(fixtures, 'chat', 'templates', 'Qwen-Qwen3-0.6B.jinja'),
    tmp,
    String(context),
    mode === 'loop' ? '--loop' : '--reply',
    ...pieces,
  ]);
  renameSync(tmp, out);
  return out;
}

// A stand-in `claude`: a shell script that records its arguments and environment in `record`
// and then runs `body`.
export function fakeClaude(dir, record, body = 'exit 0') {
  const script = path.join(dir, 'fake-claude');
  writeFileSync(script, `#!/bin/sh\n{ printf '%s\\n' "$@"; echo ---; env; } > '${record}'\n${body}\n`);
  chmodSync(script, 0o755);
  return script;
}

export async function waitFor(check, what, timeoutMs = 60_000, stepMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
