// What clients sharing one `pensieve serve` do to each other, through its streaming Messages API
// (temperature 0, short prompts of ~64 tokens, each with its own text so none finds another's
// prefix cached). Prints one JSON line per case:
// - one_stream, concurrent: one stream of --tokens tokens alone, then --streams of them at once.
//   A stream's decode rate is (output tokens − 1) / (last token − first token); the aggregate is
//   the tokens after each stream's first over the span from the earliest first token to the latest
//   last one, and ratio_to_one compares it with the lone stream's rate. steady_* count only the
//   text deltas (about one per token) while all the streams decode together.
// - gaps: stream A decodes --gap-tokens tokens; after its 5th, client B sends a prompt of
//   --long-prompt tokens with max_tokens 1. Reports A's inter-token gaps while B's prompt is
//   processed (count, max, p50, p99) against A's median gap before B came, and B's time to first
//   token and prompt tokens/s. A must outlast B's prompt: if a_finished_early, raise --gap-tokens.
// The server runs with --parallel = --streams unless the serve args after `--` set it.
//   node bench/serve/concurrent.mjs --bin build/release/src/cli/pensieve --model M.gguf \
//        [--streams 4] [--tokens 64] [--gap-tokens 400] [--long-prompt 16000] [--threads 2] \
//        [--skip-concurrent] [--skip-gaps] [-- extra serve args, e.g. --ctx-size 20000]
import { computedTokens, parseFlags, promptTokens, startServe, streamMessage, textOfTokens } from './server.mjs';

const args = parseFlags(process.argv.slice(2),
  { '--bin': 'bin', '--model': 'model', '--threads': 'threads', '--streams': 'streams', '--tokens': 'tokens',
    '--gap-tokens': 'gapTokens', '--long-prompt': 'longPrompt', '--skip-gaps': 'skipGaps',
    '--skip-concurrent': 'skipConcurrent' },
  { bin: undefined, model: undefined, threads: undefined, streams: 4, tokens: 64, gapTokens: 400, longPrompt: 16000,
    skipGaps: false, skipConcurrent: false });
if (!args.bin || !args.model) {
  throw new Error('usage: concurrent.mjs --bin PENSIEVE --model MODEL [--streams P] [--tokens N] [--gap-tokens N '
    + '(must outlast the long prompt: raise it if a_finished_early)] [--long-prompt N] [--threads T] '
    + '[--skip-concurrent] [--skip-gaps] [-- serve args]');
}
const kShortPrompt = 64;   // tokens in each short prompt
const kTokensBeforeB = 5;  // A's tokens before B sends its long prompt (A's pace before B comes)

const round = (x, digits = 1) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
// Nearest-rank percentile of an ascending array (q in 0..1); null when empty.
const percentile = (xs, q) => (xs.length === 0 ? null : xs[Math.max(0, Math.ceil(q * xs.length) - 1)]);
const median = (xs) => percentile(sorted(xs), 0.5);

// A stream's decode figures: the tokens after its first, and the span they took (ms). A stream
// whose only token printed nothing (the end token) has no delta: its first token is its last.
function decode(r) {
  const first = r.times[0] ?? r.end;
  const after = Math.max(0, (r.usage.output_tokens ?? 0) - 1);
  const tps = after > 0 && r.end > first ? after / ((r.end - first) / 1000) : null;
  return { first, last: r.end, after, tps };
}

// The server's own stderr line for a finished generation (best effort: the last `generation` line
// with these counts, or null); the figures here never depend on its format.
function serverLine(log, prompt, outputTokens) {
  const line = log.split('\n').filter((l) => / generation /.test(l) && l.includes(` ${prompt} prompt tokens`)
    && l.includes(` ${outputTokens} output tokens`)).at(-1);
  return line ? line.replace(/^.*? generation \S+ /, '') : null;
}

const serveArgs = [...args.serveArgs];
if (!serveArgs.some((a) => a === '--parallel' || a.startsWith('--parallel='))) {
  serveArgs.push('--parallel', String(args.streams));
}
const server = await startServe(args.bin, args.model, { threads: args.threads, serveArgs });
const ask = (content, maxTokens, options) => streamMessage(server.base,
  { max_tokens: maxTokens, temperature: 0, messages: [{ role: 'user', content }] }, options);
try {
  // The first request pages the mmap'd weights in; keep that out of the figures.
  await ask(await textOfTokens(server.base, kShortPrompt, 99), 4);

  if (!args.skipConcurrent) {
    const one = await ask(await textOfTokens(server.base, kShortPrompt, 100), args.tokens);
    const alone = decode(one);
    console.log(JSON.stringify({ case: 'one_stream', decode_tps: round(alone.tps), output_tokens: one.usage.output_tokens,
      stop_reason: one.stopReason }));

    const prompts = [];
    for (let i = 0; i < args.streams; ++i) prompts.push(await textOfTokens(server.base, kShortPrompt, 200 + i));
    const runs = await Promise.all(prompts.map((p) => ask(p, args.tokens)));
    const each = runs.map(decode);
    const span = (Math.max(...each.map((d) => d.last)) - Math.min(...each.map((d) => d.first))) / 1000;
    const aggregate = span > 0 ? each.reduce((n, d) => n + d.after, 0) / span : null;
    // A random-weight model may sample its end token early: fewer tokens, and the ratio means less.
    const endedEarly = runs.filter((r) => r.stopReason !== 'max_tokens').length;
    // Steady state: only while every stream decodes (from the last stream's first token to the
    // first stream's end), so the staggered prompts at the start and the tails do not count.
    const from = Math.max(...each.map((d) => d.first)), to = Math.min(...each.map((d) => d.last));
    const inWindow = runs.reduce((n, r) => n + r.times.filter((t) => t > from && t <= to).length, 0);
    const steady = to > from ? inWindow / ((to - from) / 1000) : null;
    if (one.stopReason !== 'max_tokens' || endedEarly > 0) {
      console.error(`note: ${endedEarly + (one.stopReason !== 'max_tokens' ? 1 : 0)} stream(s) ended before max_tokens`);
    }
    console.log(JSON.stringify({ case: 'concurrent', streams: args.streams, aggregate_decode_tps: round(aggregate),
      per_stream: runs.map((r, i) => ({ decode_tps: round(each[i].tps), output_tokens: r.usage.output_tokens,
        ttft_s: round(r.seconds, 2), stop_reason: r.stopReason })),
      ended_early: endedEarly, ratio_to_one: alone.tps && aggregate ? round(aggregate / alone.tps, 3) : null,
      steady_decode_tps: round(steady), steady_ratio_to_one: alone.tps && steady ? round(steady / alone.tps, 3) : null }));
  }

  if (!args.skipGaps) {
    const aPrompt = await textOfTokens(server.base, kShortPrompt, 300);
    const bPrompt = await textOfTokens(server.base, args.longPrompt, 301);
    let b = null;
    const a = await ask(aPrompt, args.gapTokens, { onDelta: (n) => {
      if (n !== kTokensBeforeB) return;
      b = ask(bPrompt, 1);
      b.catch(() => {});  // awaited below; until then a failure must not count as unhandled
    } });
    if (!b) throw new Error(`stream A ended after ${a.times.length} deltas (${a.stopReason}), before B could start`);
    const long = await b;
    const bFirst = long.start + long.seconds * 1000;  // B's prompt is done when its first token comes

    const before = [], during = [], after = [];
    for (let i = 1; i < a.times.length; ++i) {
      const [t0, t1] = [a.times[i - 1], a.times[i]];
      const gap = t1 - t0;
      if (t1 <= long.start) before.push(gap);
      else if (t0 >= bFirst) after.push(gap);
      else during.push(gap);  // the gap overlaps B's prompt processing
    }
    const gaps = sorted(during);
    const aFinishedEarly = a.end < bFirst;
    if (aFinishedEarly) console.error('note: A finished before B\'s prompt was done; raise --gap-tokens');
    // Let the server write its per-generation lines, which follow the end of each response.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const log = server.log();
    const aPromptTokens = promptTokens(a.usage);
    const bPromptTokens = promptTokens(long.usage);
    console.log(JSON.stringify({ case: 'gaps', b_prompt_tokens: promptTokens(long.usage),
      b_cached_tokens: long.usage.cache_read_input_tokens ?? 0, b_ttft_s: round(long.seconds, 2),
      b_prompt_tps: round(computedTokens(long.usage) / long.seconds),
      a_median_gap_before_ms: round(median(before)), gap_count: gaps.length, gap_max_ms: round(gaps.at(-1)),
      gap_p50_ms: round(percentile(gaps, 0.5)), gap_p99_ms: round(percentile(gaps, 0.99)),
      a_median_gap_after_ms: round(median(after)), a_output_tokens: a.usage.output_tokens, a_deltas: a.times.length,
      a_stop_reason: a.stopReason, a_finished_early: aFinishedEarly,
      server_log: { a: serverLine(log, aPromptTokens, a.usage.output_tokens),
        b: serverLine(log, bPromptTokens, long.usage.output_tokens) } }));
  }
} finally {
  server.stop();
}
