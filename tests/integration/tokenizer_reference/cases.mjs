// Test texts for the tokenizer comparison: hand-picked cases for each thing that has gone wrong in
// tokenizers before, then generated ones mixing fragments of every kind. The generator is seeded,
// so every run (and every vocabulary) sees the same texts.

// Avoided on purpose: U+0085 and U+FEFF, where JavaScript's \s (used by the reference) and the
// Unicode White_Space property (used by the models' own regex engines, and by us) disagree.
export const FIXED = [
  // code
  'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
  'for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}',
  'const x = await fetch(`/api/v1/users/${id}`);',
  '#include <vector>\nstd::vector<int> v{1, 2, 3};',
  'if x != nil && len(x) > 0 { return x[0] }',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  '    indented\n        more\n\t\ttabs\n',
  'path/to/file.txt and C:\\Windows\\System32 and https://example.com/a/b?c=d&e=f',
  '// comment\n/* block */\n<!-- html -->\n# heading',
  // JSON
  '{"name": "pensieve", "version": 1, "tags": ["a", "b"], "nested": {"ok": true, "n": null}}',
  '[{"id":1},{"id":22},{"id":333}]',
  '{\n  "key": "value with \\"quotes\\" and \\\\ backslash",\n  "emoji": "😀"\n}',
  // CJK
  '你好，世界！这是一个测试。',
  '我想在apple工作1314151天',
  '東京は日本の首都です。カタカナとひらがな。',
  '안녕하세요 세계! 한국어 텍스트입니다.',
  '中文English混合テキスト123',
  // Arabic, Hindi, Thai and other scripts
  'مرحبا بالعالم! هذا اختبار. ١٢٣٤٥',
  'नमस्ते दुनिया। यह एक परीक्षण है। १२३',
  'สวัสดีชาวโลก นี่คือการทดสอบ ๑๒๓',
  'Привет, мир! Это ТЕСТ. Ёлка',
  'Γειά σου Κόσμε! ΑΒΓ αβγ',
  'שלום עולם',
  'Ελληνικά, Русский, ქართული, Հայերեն, አማርኛ',
  // emoji, with joiners and modifiers
  '👨‍👩‍👧‍👦 family 👍🏽 thumbs 🏳️‍🌈 flag 🇯🇵 jp',
  '😀😃😄😁 ❤️ ✨✨ 🤖🤖🤖',
  'a‍b c\u200Bd e\u2060f',
  // whitespace runs
  '   leading and trailing   ',
  'a  b   c    d     e',
  'tab\there\t\tand\t\t\tmore',
  'line1\nline2\n\nline4\n\n\n\nline8',
  'crlf\r\nline\r\n\r\nend\r',
  ' \t \n \t\n  \n\t x',
  '\n\n\n',
  '    ',
  'word\u00A0nbsp\u2003em\u3000ideographic',
  // contractions, any case
  "DON'T I'M YOU'RE WE'VE SHE'LL HE'D IT'S",
  "don't i'm you're we've she'll he'd it's",
  "Don'T I'm You'Re We'vE",
  "'s 't 're 've 'm 'll 'd",
  "rock 'n' roll, o'clock, ma'am, y'all",
  "l'été, aujourd'hui, c'est",
  // numbers of many lengths
  '1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890',
  '3.14159 2.71828 -42 +7 1e10 0x1F 0b1010 1_000_000',
  '½ ¾ Ⅷ ⑤ ٣ ৩ ๓ ９９',
  '2026-11-29T07:10:35Z 12:30:45.123',
  // casing boundaries (o200k-style splitters)
  'CamelCaseWord HTTPServer getHTTPResponseCode XMLHttpRequest iPhone eBay',
  'ALLCAPS lowercase MiXeD cAsE ǅungla ǈ',
  'naïve café résumé façade Ångström',
  'e\u0301 a\u0300\u0301 combining ñ n\u0303',
  // punctuation and symbols
  'Hello, world! How are you? I\'m fine... (really) [yes] {no} <maybe>',
  '!!! ??? ... --- *** ### $$$ %%% ^^^ &&& ||| ~~~',
  '“quotes” ‘single’ «guillemets» — dash – en … ellipsis',
  '€100 £50 ¥1000 ₹500 $9.99 © ® ™ ° ± × ÷',
  'a/b/c //x /// .../',
  'end with newline after punctuation:\n\n',
  // mixed scripts
  'The 東京 Tower is 333m tall; في القاهرة 20°C; मुंबई 30°C.',
  'English日本語English한국어English',
  'x=1;y=2;z=x+y;print(z)#3',
];

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the', 'Hello', 'WORLD', 'tokenizer', 'Pensieve', 'über', 'Straße', 'naïve', 'ÉCOLE', 'ǆ',
  'мир', 'Москва', 'Ωmega', 'λόγος', '世界', '東京タワー', 'ひらがな', 'カタカナ', '한국어', 'العربية',
  'हिन्दी', 'ภาษาไทย', 'עברית', 'ქართული', 'getValue', 'HTTPRequest', 'snake_case', 'kebab-case',
  'x86_64', 'v2', 'iOS', 'McDonald', 'O\'Neil', 'e\u0301t\u00E9',
];
const PUNCT = ['.', ',', '!', '?', '...', ':', ';', '(', ')', '[', ']', '{', '}', '"', "'", '`', '—', '…', '«', '»', '/', '\\', '@', '#', '%', '&', '*', '+', '=', '<', '>', '|', '~', '^', '$', '€', '°'];
const EMOJI = ['😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '🇫🇷', '❤️', '🤖', '✨', '🧑🏾‍💻', '☕'];
const SPACE_PARTS = [' ', ' ', '  ', '\t', '\n', '\r\n', '\u00A0', '\u3000'];
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "'Re", "'lL"];
const SNIPPETS = ['{"a": [1, 2]}', '</div>', '=>', '::', '->', '&&', '||', '!=', '**kwargs', '#!/bin/sh', '0x7fff', '\\n', 'i++', '[0]'];

function pick(rand, list) {
  return list[Math.floor(rand() * list.length)];
}

function fragment(rand, specials) {
  switch (Math.floor(rand() * 9)) {
    case 0:
    case 1:
      return pick(rand, WORDS);
    case 2: {
      const digits = 1 + Math.floor(rand() * 18);
      let s = '';
      for (let i = 0; i < digits; ++i) s += String(Math.floor(rand() * 10));
      return s;
    }
    case 3:
      return pick(rand, PUNCT) + (rand() < 0.3 ? pick(rand, PUNCT) : '');
    case 4:
      return pick(rand, EMOJI);
    case 5: {
      let s = '';
      const n = 1 + Math.floor(rand() * 5);
      for (let i = 0; i < n; ++i) s += pick(rand, SPACE_PARTS);
      return s;
    }
    case 6:
      return pick(rand, WORDS) + pick(rand, CONTRACTIONS);
    case 7:
      return pick(rand, SNIPPETS);
    default:
      return specials.length > 0 && rand() < 0.5 ? pick(rand, specials) : pick(rand, WORDS).toUpperCase();
  }
}

// `specials`: special-token texts of the vocabulary, mixed into some cases.
export function generatedCases(count, specials, seed = 20261129) {
  const rand = mulberry32(seed);
  const out = [];
  for (let c = 0; c < count; ++c) {
    const n = 2 + Math.floor(rand() * 10);
    let s = '';
    for (let i = 0; i < n; ++i) {
      s += fragment(rand, specials);
      if (rand() < 0.5) s += ' ';
    }
    out.push(s);
  }
  return out;
}
