// Time to first token of a long prompt through the real `pensieve serve` and its streaming
// Messages API, as Claude Code's first request sees it. Starts the server, builds a prompt of about
// the asked number of tokens (calibrated with /v1/messages/count_tokens), sends it once streamed
// with max_tokens 1, and prints one JSON line per prompt size:
//   node bench/serve/long_prompt.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        --tokens 21000 [--tokens 4096 …] [--threads 2] [-- extra serve args]
import { parseFlags, promptTokens, startServe, streamMessage, textOfTokens } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--tokens': 'tokens', '--threads': 'threads' },
  { bin: undefined, model: undefined, tokens: [], threads: undefined });
if (!args.bin || !args.model || args.tokens.length === 0) {
  throw new Error('usage: long_prompt.mjs --bin PENSIEVE --model MODEL --tokens N [--tokens N …] [--threads T] [-- serve args]');
}
const server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs: args.serveArgs });
try {
  // Each size gets its own text, so no prompt finds another's prefix in the server's cache.
  for (const [i, tokens] of args.tokens.entries()) {
    const content = await textOfTokens(server.base, tokens, 12345 + i);
    const { seconds, usage } = await streamMessage(server.base, { max_tokens: 1, messages: [{ role: 'user', content }] });
    const prompt = promptTokens(usage);
    console.log(JSON.stringify({ model: args.model, prompt_tokens: prompt, ttft_s: Number(seconds.toFixed(2)),
      prompt_tokens_per_s: Number((prompt / seconds).toFixed(1)) }));
  }
} finally {
  server.stop();
}
