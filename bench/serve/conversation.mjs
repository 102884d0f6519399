// A Claude-Code-like conversation through the real `pensieve serve`: a long first message (system
// prompt and tools stand-in) then turns that each resend the whole conversation plus ~N new
// tokens, as Claude Code does. Prints one JSON line per turn: time to first token, the tokens the
// server read from its cache and those it computed, and the ratio to turn 1's time. With
// --restart-turns N, the server is then stopped (saving its prompt cache to a fresh temporary
// --cache-dir) and started again, and the conversation goes on for N more turns.
//   node bench/serve/conversation.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--prefix 16000] [--turns 5] [--turn-tokens 300] [--restart-turns 1] [--threads 2] \
//        [-- extra serve args]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { computedTokens, parseFlags, promptTokens, startServe, streamMessage, textOfTokens } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--prefix': 'prefix', '--turns': 'turns', '--turn-tokens': 'turnTokens',
    '--threads': 'threads', '--restart-turns': 'restartTurns' },
  { bin: undefined, model: undefined, prefix: 16000, turns: 5, turnTokens: 300, threads: undefined, restartTurns: 0 });
if (!args.bin || !args.model) {
  throw new Error('usage: conversation.mjs --bin PENSIEVE --model MODEL [--prefix N] [--turns N] [--turn-tokens N] [--threads T] [-- serve args]');
}
const cacheDir = mkdtempSync(path.join(tmpdir(), 'pensieve-conversation-'));
const serveArgs = [...args.serveArgs, '--cache-dir', cacheDir];
let server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs });
try {
  const system = await textOfTokens(server.base, args.prefix, 777);
  const messages = [];
  let first = null;
  for (let turn = 1; turn <= args.turns + args.restartTurns; ++turn) {
    if (turn === args.turns + 1) {
      const stopping = Date.now();
      await server.stop();
      const saved = Date.now() - stopping;
      server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs });
      console.log(JSON.stringify({ restart: true, stop_and_save_s: Number((saved / 1000).toFixed(2)) }));
    }
    messages.push({ role: 'user', content: await textOfTokens(server.base, args.turnTokens, 1000 + turn) });
    const { seconds, answer, usage } = await streamMessage(server.base, {
      max_tokens: 8, temperature: 0, system, messages,
    });
    messages.push({ role: 'assistant', content: answer.length > 0 ? answer : '.' });
    first ??= seconds;
    console.log(JSON.stringify({ turn, prompt_tokens: promptTokens(usage),
      cached_tokens: usage.cache_read_input_tokens ?? 0, computed_tokens: computedTokens(usage),
      ttft_s: Number(seconds.toFixed(2)), of_turn_1: Number((seconds / first).toFixed(3)) }));
  }
} finally {
  await server.stop();
  rmSync(cacheDir, { recursive: true, force: true });
}
