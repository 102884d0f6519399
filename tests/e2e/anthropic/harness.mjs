// Starts the real `pensieve serve` for a test and stops it afterwards. Paths come from CTest's
// environment (PENSIEVE_BIN, PENSIEVE_FIXTURES, MAKE_CHAT_MODEL, E2E_WORK_DIR).
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const fixtures = process.env.PENSIEVE_FIXTURES ?? path.resolve('../../../../shared/fixtures');
export const workDir = process.env.E2E_WORK_DIR ?? '/tmp/pensieve-e2e';

export function smallModel() {
  return path.join(fixtures, 'models', 'qwen3-q8_0.gguf');
}

// The long-context chat model with a full GPT-2 vocabulary and Qwen3's template, built once.
export function chatModel() {
  mkdirSync(workDir, { recursive: true });
  const out = path.join(workDir, 'e2e-qwen3-chat.gguf');
  if (!existsSync(out)) {
    execFileSync(process.env.MAKE_CHAT_MODEL, [
      path.join(fixtures, 'vocab', 'ggml-vocab-gpt-2-pre-qwen2.gguf'),
      path.join(fixtures, 'chat', 'templates', 'Qwen-Qwen3-0.6B.jinja'),
      out,
      '131072',
    ]);
  }
  return out;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startServer(model, extraArgs = []) {
  if (!process.env.PENSIEVE_BIN) throw new Error('PENSIEVE_BIN is not set (run through ctest)');
  const port = await freePort();
  const child = spawn(process.env.PENSIEVE_BIN, ['serve', '--model', model, '--port', String(port), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const baseURL = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pensieve serve exited early:\n${log}`);
    try {
      const r = await fetch(`${baseURL}/api/hello`, { method: 'HEAD' });
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`pensieve serve did not come up:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseURL,
    port,
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

// Requests the server logged as rejected (status >= 400).
export function rejectedLines(log) {
  return log.split('\n').filter((l) => l.includes(' rejected:'));
}
