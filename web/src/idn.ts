/**
 * Host names beyond ASCII as people read them. The server stores and answers them in their ASCII form
 * (`xn--bcher-kva.example`); this shows `bücher.example`, as browsers do in the address bar, unless a label does not
 * decode to a name the server could have made, or could pass for another name (Cyrillic `аррӏе` for `apple`) or a
 * number (`ззз` for `333`): such a label is shown as it is stored.
 */

const BASE = 36;
const TMIN = 1;
const TMAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 0x80;
const MAX_INT = 0x7fffffff;

function adapt(delta: number, points: number, first: boolean): number {
  let d = first ? Math.floor(delta / DAMP) : Math.floor(delta / 2);
  d += Math.floor(d / points);
  let k = 0;
  while (d > ((BASE - TMIN) * TMAX) / 2) {
    d = Math.floor(d / (BASE - TMIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - TMIN + 1) * d) / (d + SKEW));
}

function threshold(k: number, bias: number): number {
  return k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 26; // 0-9
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61; // a-z
  return BASE;
}

function digitChar(d: number): string {
  return String.fromCharCode(d < 26 ? 0x61 + d : 0x30 + d - 26);
}

/** RFC 3492 section 6.2: the code points `encoded` (what follows `xn--`) stands for; throws on anything malformed. */
export function decodePunycode(encoded: string): string {
  const delimiter = encoded.lastIndexOf('-');
  const output: number[] = [];
  for (let j = 0; j < Math.max(delimiter, 0); j++) {
    const c = encoded.charCodeAt(j);
    if (c >= INITIAL_N) throw new Error(`'${encoded}' has a character beyond ASCII before its last -`);
    output.push(c);
  }
  let n = INITIAL_N;
  let i = 0;
  let bias = INITIAL_BIAS;
  let at = delimiter > 0 ? delimiter + 1 : 0;
  while (at < encoded.length) {
    const oldI = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (at >= encoded.length) throw new Error(`'${encoded}' ends in the middle of a number`);
      const digit = digitValue(encoded.charCodeAt(at++));
      if (digit >= BASE) throw new Error(`'${encoded}' has '${encoded[at - 1]}', which is no punycode digit`);
      if (digit > Math.floor((MAX_INT - i) / w)) throw new Error(`'${encoded}' overflows`);
      i += digit * w;
      const t = threshold(k, bias);
      if (digit < t) break;
      if (w > Math.floor(MAX_INT / (BASE - t))) throw new Error(`'${encoded}' overflows`);
      w *= BASE - t;
    }
    const length = output.length + 1;
    bias = adapt(i - oldI, length, oldI === 0);
    if (Math.floor(i / length) > MAX_INT - n) throw new Error(`'${encoded}' overflows`);
    n += Math.floor(i / length);
    i %= length;
    if (n < INITIAL_N || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) {
      throw new Error(`'${encoded}' decodes to U+${n.toString(16).toUpperCase()}, which punycode does not encode`);
    }
    output.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...output);
}

/** RFC 3492 section 6.3: `label`'s code points as the ASCII that follows `xn--`. */
export function encodePunycode(label: string): string {
  const points = Array.from(label, (c) => c.codePointAt(0) ?? 0);
  let out = points.filter((c) => c < INITIAL_N).map((c) => String.fromCharCode(c)).join('');
  const basic = out.length;
  let handled = basic;
  if (basic > 0) out += '-';
  let n = INITIAL_N;
  let delta = 0;
  let bias = INITIAL_BIAS;
  while (handled < points.length) {
    const next = Math.min(...points.filter((c) => c >= n));
    delta += (next - n) * (handled + 1);
    n = next;
    for (const c of points) {
      if (c < n) delta++;
      if (delta > MAX_INT) throw new Error(`'${label}' is too long for punycode`);
      if (c === n) {
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = threshold(k, bias);
          if (q < t) break;
          out += digitChar(t + ((q - t) % (BASE - t)));
          q = Math.floor((q - t) / (BASE - t));
        }
        out += digitChar(q);
        bias = adapt(delta, handled + 1, handled === basic);
        delta = 0;
        handled++;
      }
    }
    delta++;
    n++;
  }
  return out;
}

/**
 * The scripts a label may be written in. A letter of none of these (Cherokee, Canadian syllabics, historic scripts:
 * many look like Latin letters) keeps its label in the xn-- form.
 */
const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Thaana', 'Devanagari', 'Bengali',
  'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan',
  'Myanmar', 'Georgian', 'Hangul', 'Ethiopic', 'Khmer', 'Mongolian', 'Hiragana', 'Katakana', 'Bopomofo', 'Han']
  .map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const);

/** The mixes of scripts CJK names are written in, as browsers allow them (UTS #39 "highly restrictive"). */
const MIXES = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/**
 * Letters that pass for ASCII and that no language's names need: dotless i and j, kra, the click letters (ǀ is an l),
 * IPA and modifier letters (ɑ, ɡ, ʼ), and combining marks that draw over a letter (U+0338 is a slash).
 */
const LOOKALIKE = /[\u0131\u0138\u01c0-\u01c3\u0237\u0250-\u036f\u20d0-\u20ff]/u;

/**
 * Labels written wholly in these letters read as Latin ones: `аррӏе`, `ѕкуре`, `ηοω`, Armenian `յօհո`, Thai `ฟรฟร`. The
 * letters of Chromium's whole-script confusables (components/url_formatter/spoof_checks/idn_spoof_checker.cc), with its
 * few Cyrillic words that match no Latin one. Thai's is its set for Linux and ChromeOS, whose fonts draw more Thai
 * letters like Latin ones: the set for Windows and macOS is part of it, and the page may be read on any of them. Unlike
 * Chromium, no top-level domain lets them pass.
 */
const LATIN_ALIKE: Record<string, RegExp> = {
  Armenian: /^[ագզէլհյոսւօՙ]+$/u,
  Cyrillic: /^[аысԁеԍһіюкјӏорԗԛѕԝхуъьҽпгѵѡ]+$/u,
  Devanagari: /^[ऽॱ]+$/u,
  Ethiopic: /^[ሀሠሰስበነተከዐዕዘጠፐꬅ]+$/u,
  Georgian: /^[იოყძხჽჿ]+$/u,
  Greek: /^[αικνορτυχϲϳωη]+$/u,
  Gujarati: /^[ડટ]+$/u,
  Hebrew: /^[דוחיןסװײ]+$/u,
  Kannada: /^[ಽ]+$/u,
  Malayalam: /^[ടഠധനറ]+$/u,
  Myanmar: /^[ခဂငထပဝၔၜ]+$/u,
  Oriya: /^[ଠ]+$/u,
  Tamil: /^[டப]+$/u,
  Thai: /^[ทนบพรหเแดลปฟม]+$/u,
};
const LATIN_ALIKE_WORDS = new Set(['секс', 'как', 'коса', 'курс', 'парк', 'такий', 'укроп', 'сахарок', 'покраска']);

/**
 * Labels written wholly in digits and these letters read as a number: Cyrillic `ззз` as `333`, `1շ34567890` with an
 * Armenian sha for the 2. The letters of Chromium's digit look-alikes (idn_spoof_checker.cc); its others are digits of
 * other scripts, which keep a label in xn-- form already. As there, a dash makes the label no number.
 */
const DIGIT_ALIKE = /^[0-9θշճзҙӡउওਤੜဒვპკ丩ㄐ]+$/u;

/**
 * In a label that mixes Latin with a CJK script, the characters Chromium's "dangerous patterns" refuse there
 * (idn_spoof_checker.cc): kana and ideographs that read as a slash between non-Japanese characters (`comノshop`),
 * Katakana's iteration marks after no Katakana, its prolonged sound mark (a dash) after no kana (`googleーlogin`),
 * ideographs and Bopomofo that read as a dash, a plus or an o next to a non-CJK character (`google一login`), combining
 * diacritics after a character of no Latin, Greek or Cyrillic script, the combining kana voiced sound marks, and a dot
 * above on i, j or l.
 */
const NOT_JAPANESE = '[^\\p{scx=Kana}\\p{scx=Hira}\\p{scx=Hani}]';
const NOT_CJK = '[^\\p{scx=Kana}\\p{scx=Hira}\\p{scx=Hani}\\p{scx=Bopo}]';
const CJK_DASHES = '[\\u4e00\\u3127\\u4e28\\u4e5b\\u4e03\\u4e05\\u5341\\u3007\\u3112\\u311a'
  + '\\u311f\\u3128\\u3129\\u3108\\u31ba\\u31b3\\u5de5\\u31b2\\u8ba0\\u4e01]';
const MIXED_DANGER = new RegExp([
  `${NOT_JAPANESE}[\\u30ce\\u30f3\\u30bd\\u30be\\u4e36\\u4e40\\u4e41\\u4e3f]${NOT_JAPANESE}`,
  '[^\\p{scx=Kana}][\\u30fd\\u30fe]', '^[\\u30fd\\u30fe]',
  '[^\\p{scx=Kana}\\p{scx=Hira}]\\u30fc', '^\\u30fc',
  `${NOT_CJK}${CJK_DASHES}`, `${CJK_DASHES}${NOT_CJK}`,
  '[^\\p{scx=Latn}\\p{scx=Grek}\\p{scx=Cyrl}][\\u0300-\\u0339]',
  '[\\u3099\\u309a]',
  '[ijl]\\u0307',
].join('|'), 'u');

function scriptOf(c: string): string | null {
  if (/^[a-z]$/.test(c)) return 'Latin';
  // the Katakana-Hiragana prolonged sound mark is in the Common script, and in every other Japanese word
  if (c === '\u30fc') return 'Katakana';
  for (const [name, pattern] of SCRIPTS) {
    if (pattern.test(c)) return name;
  }
  return null;
}

/** Whether `unicode`, the decoding of an xn-- label, may be shown instead of it. */
function readable(unicode: string): boolean {
  // A valid label is in the form IDNA maps names to: lower case, NFKC (so no full-width or compatibility letters).
  if (unicode !== unicode.toLowerCase() || unicode !== unicode.normalize('NFKC')) return false;
  if (!/[^\x00-\x7f]/.test(unicode) || LOOKALIKE.test(unicode)) return false;
  const scripts = new Set<string>();
  const letters: string[] = [];
  for (const c of unicode) {
    if (/^[0-9-]$/.test(c)) continue;
    if (!/^[\p{L}\p{M}]$/u.test(c)) return false;
    const script = scriptOf(c);
    // marks without a script of their own (Arabic vowel signs) belong to the letter before them
    if (script === null && !/^\p{Script=Inherited}$/u.test(c)) return false;
    if (script !== null) {
      scripts.add(script);
      letters.push(c);
    }
  }
  if (scripts.size > 1 && !MIXES.some((mix) => [...scripts].every((script) => mix.includes(script)))) return false;
  if (scripts.has('Latin') && scripts.size > 1 && MIXED_DANGER.test(unicode)) return false;
  // a label that reaches here has a character beyond ASCII: a look-alike, if all its characters are digits or those
  if (DIGIT_ALIKE.test(unicode)) return false;
  const [only] = [...scripts];
  return !(scripts.size === 1 && LATIN_ALIKE[only]?.test(letters.join('')) && !LATIN_ALIKE_WORDS.has(unicode));
}

/** One label as shown: an xn-- label decoded when that is safe to read, any other as it is. */
export function unicodeLabel(label: string): string {
  if (!/^xn--/i.test(label)) return label;
  // DNS names are the same in any case; the server writes them in lower case
  const encoded = label.slice(4).toLowerCase();
  let unicode: string;
  try {
    unicode = decodePunycode(encoded);
    // only the one encoding of a name: not "xn--abc-" for "abc"
    if (encodePunycode(unicode) !== encoded) return label;
  } catch {
    return label;
  }
  return readable(unicode) ? unicode : label;
}

/** A host name (or `*.` wildcard) as shown: each label by {@link unicodeLabel}. */
export function unicodeHost(host: string): string {
  return host.split('.').map(unicodeLabel).join('.');
}

/** Host names with an xn-- label, within a sentence or an address (`https://xn--bcher-kva.example:8443/`). */
const HOST_IN_TEXT = /(?<![\p{L}\p{N}.-])(?:[a-z0-9*](?:[a-z0-9-]*[a-z0-9])?\.)*xn--[a-z0-9-]*[a-z0-9](?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?![\p{L}\p{N}-])/giu;

/** A text cut where its host names change when shown: `host` is the name as the server wrote it. */
export interface TextPart {
  text: string;
  host?: string;
}

/** `text` in parts, each host name with an xn-- label that reads otherwise in Unicode as its own part. */
export function hostsIn(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(HOST_IN_TEXT)) {
    const host = match[0];
    const unicode = unicodeHost(host);
    if (unicode === host) continue;
    const at = match.index ?? 0;
    if (at > last) parts.push({ text: text.slice(last, at) });
    parts.push({ text: unicode, host });
    last = at + host.length;
  }
  if (last < text.length || parts.length === 0) parts.push({ text: text.slice(last) });
  return parts;
}

/** `text` with its host names in Unicode where {@link unicodeHost} shows them so: for labels, notices, titles. */
export function unicodeText(text: string): string {
  return hostsIn(text).map((part) => part.text).join('');
}
