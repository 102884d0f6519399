// The prompt cache on disk as a user meets it across restarts of `pensieve serve`: a long prompt's
// cache saved at shutdown is read by the next server and reported as cache_read_input_tokens, with
// the same greedy answer; a damaged or truncated file is reported, deleted and never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, truncateSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, smallModel, postMessages, MODEL, user } from './harness.mjs';

const kGranule = 64;  // a saved prefix is whole key tiles (model::Sequence::kPrefixGranularity)

// ~700 tokens of varied words: past the store's 256-token minimum and several granules.
const words = ['model', 'cache', 'restart', 'prefix', 'token', 'layer', 'disk', 'stream', 'memory', 'server'];
const longText = Array.from({ length: 600 }, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(' ');
const request = { model: MODEL, max_tokens: 8, temperature: 0, messages: user(longText) };

async function ask(server) {
  const r = await postMessages(server.baseURL, request);
  assert.equal(r.status, 200);
  return r.json();
}

// Every saved prefix file under the cache folder.
function savedFiles(dir) {
  const out = [];
  for (const sub of readdirSync(dir)) {
    for (const f of readdirSync(path.join(dir, sub))) if (f.endsWith('.pkv')) out.push(path.join(dir, sub, f));
  }
  return out;
}

async function withServer(dir, fn) {
  const server = await startServer(smallModel(), ['--cache-dir', dir, '--parallel', '1']);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

test('a prompt cache saved at shutdown serves the next server; damaged files are never used', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pensieve-prompt-cache-'));
  try {
    const first = await withServer(dir, ask);
    assert.equal(first.usage.cache_read_input_tokens, 0, 'a fresh server has nothing cached');
    // All it computed it kept: written to the cache, and saved from there at shutdown.
    assert.equal(first.usage.input_tokens, 0);
    const prompt = first.usage.cache_creation_input_tokens;
    assert.ok(prompt > 300, `prompt of ${prompt} tokens`);
    assert.equal(savedFiles(dir).length, 1, 'the slot was saved at shutdown');

    // Restarted: the saved prefix is read, whole granules short of the prompt's last token.
    let log = '';
    const second = await withServer(dir, async (server) => {
      const answer = await ask(server);
      log = server.log();
      return answer;
    });
    assert.match(log, /prompt cache: 1 saved prefix/);
    assert.equal(second.usage.cache_read_input_tokens, Math.floor((prompt - 1) / kGranule) * kGranule);
    assert.equal(second.usage.cache_creation_input_tokens, prompt - second.usage.cache_read_input_tokens);
    assert.equal(second.usage.input_tokens, 0);
    assert.deepEqual(second.content, first.content, 'the same greedy answer from the restored cache');

    // One flipped byte in the cache bytes: found when read, reported, deleted; the prompt is computed.
    const [file] = savedFiles(dir);
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] ^= 0x40;
    writeFileSync(file, bytes);
    const third = await withServer(dir, async (server) => {
      const answer = await ask(server);
      log = server.log();
      return answer;
    });
    assert.match(log, /checksum does not match/);
    assert.equal(third.usage.cache_read_input_tokens, 0);
    assert.deepEqual(third.content, first.content);

    // Saved again at that shutdown; now truncated: refused when the folder is read.
    const [again] = savedFiles(dir);
    truncateSync(again, statSync(again).size - 1000);
    const fourth = await withServer(dir, async (server) => {
      const answer = await ask(server);
      log = server.log();
      return answer;
    });
    assert.match(log, /ignoring and deleting .*truncated/);
    assert.equal(fourth.usage.cache_read_input_tokens, 0);
    assert.deepEqual(fourth.content, first.content);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
