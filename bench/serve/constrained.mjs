// What constrained decoding costs a generation, through `pensieve serve`: the decode rate of the
// same requests with and without a constraint, interleaved (one of each per round), read from the
// server's log line of each generation ("N more in S s"). The constrained request asks for
// structured output (output_config json_schema: an object with a long free string, so that it
// runs for many tokens) or, with --tool, a forced call (tool_choice any) to a tool of that shape.
//   node bench/serve/constrained.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--rounds 5] [--tokens 256] [--threads 2] [--tool] [-- extra serve args]
import { parseFlags, startServe } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--threads': 'threads', '--rounds': 'rounds', '--tokens': 'tokens',
    '--tool': 'tool' },
  { bin: undefined, model: undefined, threads: undefined, rounds: 5, tokens: 256, tool: false });
if (!args.bin || !args.model) {
  throw new Error('usage: constrained.mjs --bin PENSIEVE --model MODEL [--rounds R] [--tokens N] [--tool] [-- serve args]');
}

const schema = {
  type: 'object',
  properties: { title: { type: 'string', maxLength: 24 }, body: { type: 'string' }, done: { type: 'boolean' } },
  required: ['title', 'body', 'done'], additionalProperties: false,
};
const request = (i, constrained) => {
  const body = {
    model: 'm', max_tokens: args.tokens, temperature: 1, stream: false,
    messages: [{ role: 'user', content: `Round ${i}: write a long note about caches.` }],
  };
  if (!constrained) return body;
  if (args.tool) {
    body.tools = [{ name: 'write_note', description: 'Writes a note.', input_schema: schema }];
    body.tool_choice = { type: 'any' };
  } else {
    body.output_config = { format: { type: 'json_schema', schema } };
  }
  return body;
};

const server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs: args.serveArgs });
const rates = { free: [], constrained: [] };
let seen = 0;
// The decode rate of the generation logged since the last call: tokens after the first / seconds.
const lastRate = () => {
  const lines = server.log().split('\n').filter((l) => l.includes(' generation ') && l.includes(' more in '));
  const line = lines[seen++];
  const m = line && line.match(/, (\d+) more in ([\d.]+) s/);
  return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
};
try {
  for (let i = 0; i < args.rounds; ++i) {
    for (const constrained of [false, true]) {
      const r = await fetch(`${server.base}/v1/messages`, { method: 'POST', body: JSON.stringify(request(i, constrained)) });
      if (r.status !== 200) throw new Error(`${r.status}: ${await r.text()}`);
      await r.json();
      await new Promise((resolve) => setTimeout(resolve, 50));  // the log line follows the answer
      const rate = lastRate();
      if (rate !== null) rates[constrained ? 'constrained' : 'free'].push(rate);
    }
  }
} finally {
  await server.stop();
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };
const f = median(rates.free);
const c = median(rates.constrained);
console.log(JSON.stringify({
  model: args.model, mode: args.tool ? 'tool_choice any' : 'output_config json_schema',
  free_tokens_per_s: f && Number(f.toFixed(1)), constrained_tokens_per_s: c && Number(c.toFixed(1)),
  ratio: f && c ? Number((c / f).toFixed(3)) : null, rounds: rates,
}));
