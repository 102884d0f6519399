// The established engine on the same machine, file and thread count as `pensieve bench`, so the
// issue's "prompt ≥ 1.25× the established engine" can be judged side by side rather than against
// figures from another machine. The engine is llama.cpp as the npm package node-llama-cpp ships it
// (prebuilt CPU builds; ggml picks the variant for the CPU at load time, e.g. "haswell" for AVX2 +
// FMA + F16C). It is installed on first use into a cache folder outside the repository; nothing of
// it is part of pensieve.
//
//   node bench/established/llama_cpp.mjs --model M.gguf [--threads 2] [-p 512] [-n 64] [-r 3]
//   node bench/established/llama_cpp.mjs --model M.gguf [--threads 2] --long 21000 [--long 4096 …]
//
// The first form follows llama-bench: a warm-up, then per repetition a prompt of p random tokens
// evaluated as one batch (logits of the last token only) on an empty cache, and n tokens decoded
// one at a time from an empty cache (greedy, so the sampler's cost is an argmax). The second form
// times a first token after a prompt of N random tokens in batches of 512 (llama-server's default
// micro-batch), like bench/serve/long_prompt.mjs. Flash attention on, KV cache f16: as pensieve.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const kVersion = '3.22.1';

function parseArgs(argv) {
  const args = { model: undefined, threads: 2, p: 512, n: 64, r: 3, long: [] };
  for (let i = 0; i < argv.length; ++i) {
    const flag = argv[i], value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    ++i;
    if (flag === '--model') args.model = value;
    else if (flag === '--threads' || flag === '-t') args.threads = Number(value);
    else if (flag === '-p') args.p = Number(value);
    else if (flag === '-n') args.n = Number(value);
    else if (flag === '-r') args.r = Number(value);
    else if (flag === '--long') args.long.push(Number(value));
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!args.model) throw new Error('usage: llama_cpp.mjs --model M.gguf [--threads T] [-p N] [-n N] [-r N] [--long N …]');
  return args;
}

// node-llama-cpp and only its linux-x64 CPU binaries (the GPU builds are hundreds of MB).
async function loadEngine() {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pensieve', `node-llama-cpp-${kVersion}`);
  if (!existsSync(join(cache, 'node_modules', 'node-llama-cpp'))) {
    mkdirSync(cache, { recursive: true });
    console.error(`installing node-llama-cpp ${kVersion} into ${cache}`);
    execFileSync('npm', ['install', '--prefix', cache, '--no-audit', '--no-fund', '--omit=optional', '--ignore-scripts',
      '--loglevel=error', `node-llama-cpp@${kVersion}`, `@node-llama-cpp/linux-x64@${kVersion}`], { stdio: 'inherit' });
  }
  const require = createRequire(join(cache, 'package.json'));
  return import(pathToFileURL(require.resolve('node-llama-cpp')).href);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

const args = parseArgs(process.argv.slice(2));
const { getLlama, LlamaLogLevel } = await loadEngine();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
const vocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
const randomTokens = (count) => Array.from({ length: count }, () => Math.floor(Math.random() * vocab));

async function withSequence(contextSize, batchSize, body) {
  const context = await model.createContext({ contextSize, batchSize, threads: args.threads, flashAttention: true, sequences: 1 });
  try {
    return await body(context.getSequence());
  } finally {
    await context.dispose();
  }
}

// Seconds until the first token decoded after `prompt` (the whole prompt evaluated, then sampled).
async function firstToken(sequence, prompt) {
  const start = performance.now();
  for await (const _ of sequence.evaluate(prompt, { temperature: 0 })) break;
  return (performance.now() - start) / 1000;
}

async function decodeRate(sequence, count) {
  const start = performance.now();
  let decoded = 0;
  for await (const _ of sequence.evaluate(randomTokens(1), { temperature: 0 })) {
    if (++decoded >= count) break;
  }
  return decoded / ((performance.now() - start) / 1000);
}

const engine = `llama.cpp (node-llama-cpp ${kVersion}, ${llama.cpuMathCores} math cores seen)`;
if (args.long.length > 0) {
  for (const tokens of args.long) {
    const seconds = await withSequence(tokens + 16, 512, (sequence) => firstToken(sequence, randomTokens(tokens)));
    console.log(JSON.stringify({ engine, model: args.model, threads: args.threads, prompt_tokens: tokens,
      ttft_s: Number(seconds.toFixed(2)), prompt_tokens_per_s: Number((tokens / seconds).toFixed(1)) }));
  }
} else {
  const pp = [], tg = [];
  for (let rep = -1; rep < args.r; ++rep) {  // rep -1: the warm-up, not counted
    if (args.p > 0) {
      const rate = await withSequence(args.p + 16, args.p,
        async (sequence) => args.p / await firstToken(sequence, randomTokens(args.p)));
      if (rep >= 0) pp.push(rate);
    }
    if (args.n > 0) {
      const rate = await withSequence(args.n + 16, 512, (sequence) => decodeRate(sequence, args.n));
      if (rep >= 0) tg.push(rate);
    }
  }
  const line = (name, xs) => `${name}: ${mean(xs).toFixed(2)} ± ${spread(xs).toFixed(2)} t/s (${xs.map((x) => x.toFixed(2)).join(', ')})`;
  console.log(`${engine}, ${args.threads} threads, ${args.model}`);
  if (pp.length) console.log(line(`pp${args.p}`, pp));
  if (tg.length) console.log(line(`tg${args.n}`, tg));
  console.log(JSON.stringify({ engine, model: args.model, threads: args.threads,
    pp_tokens_per_s: pp.length ? mean(pp) : null, tg_tokens_per_s: tg.length ? mean(tg) : null }));
}
await model.dispose();
