import { describe, expect, it } from 'vitest';
import { decodePunycode, encodePunycode, hostsIn, unicodeHost, unicodeLabel, unicodeText } from './idn';

/** RFC 3492 section 7.1, with the samples' code points as they are listed there. */
const RFC_SAMPLES: [string, string, string][] = [
  ['(A) Arabic (Egyptian)', '\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F',
    'egbpdaj6bu4bxfgehfvwxn'],
  ['(B) Chinese (simplified)', '\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587', 'ihqwcrb4cv8a8dqg056pqjye'],
  ['(C) Chinese (traditional)', '\u4ED6\u5011\u7232\u4EC0\u9EBD\u4E0D\u8AAA\u4E2D\u6587', 'ihqwctvzc91f659drss3x8bo0yb'],
  ['(D) Czech', 'Pro\u010Dprost\u011Bnemluv\u00ED\u010Desky', 'Proprostnemluvesky-uyb24dma41a'],
  ['(G) Japanese', '\u306A\u305C\u307F\u3093\u306A\u65E5\u672C\u8A9E\u3092\u8A71\u3057\u3066\u304F\u308C\u306A\u3044\u306E\u304B',
    'n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa'],
  ['(I) Russian (mixed-case annotations ignored)',
    '\u043F\u043E\u0447\u0435\u043C\u0443\u0436\u0435\u043E\u043D\u0438\u043D\u0435\u0433\u043E\u0432\u043E\u0440\u044F\u0442\u043F\u043E\u0440\u0443\u0441\u0441\u043A\u0438',
    'b1abfaaepdrnnbgefbaDotcwatmq2g4l'],
  ['(L) 3<nen>B<gumi><kinpachi><sensei>', '3\u5E74B\u7D44\u91D1\u516B\u5148\u751F', '3B-ww4c5e180e575a65lsy2b'],
  ['(R) <sono><supiido><de>', '\u305D\u306E\u30B9\u30D4\u30FC\u30C9\u3067', 'd9juau41awczczp'],
  ['(S) -> $1.00 <-', '-> $1.00 <-', '-> $1.00 <--'],
];

describe('decodePunycode', () => {
  it.each(RFC_SAMPLES)('decodes RFC 3492 sample %s', (_, unicode, encoded) => {
    expect(decodePunycode(encoded)).toBe(unicode);
  });

  it.each(RFC_SAMPLES)('encodes RFC 3492 sample %s back', (_, unicode, encoded) => {
    expect(encodePunycode(unicode)).toBe(encoded === 'b1abfaaepdrnnbgefbaDotcwatmq2g4l' ? encoded.toLowerCase() : encoded);
  });

  it.each([
    ['a digit that is none', 'bcher-kv!'],
    ['a number cut short', 'bcher-k'],
    ['a character beyond ASCII before the delimiter', 'b\u00fccher-kva'],
    ['a number too large', '99999999999999'],
    ['a code point beyond Unicode', '99999999a'],
  ])('refuses %s', (_, encoded) => {
    expect(() => decodePunycode(encoded)).toThrow();
  });
});

describe('unicodeHost', () => {
  it.each([
    ['xn--bcher-kva.example', 'bücher.example'],
    ['*.xn--bcher-kva.example', '*.bücher.example'],
    ['shop.XN--BCHER-KVA.example', 'shop.bücher.example'],
    ['xn--strae-oqa.example', 'straße.example'],
    ['xn--d9juau41awczczp.jp', 'そのスピードで.jp'],
    ['xn--3b-ww4c5e180e575a65lsy2b.example', '3年b組金八先生.example'],
    ['xn--80adxhks.xn--p1ai', 'москва.рф'],
    [`xn--${encodePunycode('\u30b9\u30fc\u30d1\u30fc')}.example`, 'スーパー.example'],
    [`xn--${encodePunycode('\u4e00\u756a')}.example`, '一番.example'],
    [`xn--${encodePunycode('\u043f\u0430\u0440\u043a')}.example`, 'парк.example'],
    [`xn--${encodePunycode('\u043c\u0443\u0437\u0435\u0439')}.example`, 'музей.example'],
    [`xn--${encodePunycode('\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22')}.example`, 'ภาษาไทย.example'],
    [`xn--${encodePunycode('\u0570\u0561\u0575\u0565\u0580\u0565\u0576')}.example`, 'հայերեն.example'],
    ['app.example.com', 'app.example.com'],
  ])('shows %s as %s', (ascii, unicode) => {
    expect(unicodeHost(ascii)).toBe(unicode);
  });

  it.each([
    ['a label that does not decode', 'xn--bcher-kv!.example'],
    ['a label that decodes to ASCII only', 'xn--abc-.example'],
    ['an upper-case letter (bÜcher), which no valid name has', `xn--${encodePunycode('b\u00dccher')}.example`],
    ['Cyrillic letters among Latin ones (gооgle)', `xn--${encodePunycode('g\u043e\u043egle')}.example`],
    ['Cyrillic letters that all read as Latin (аррӏе)', `xn--${encodePunycode('\u0430\u0440\u0440\u04cf\u0435')}.example`],
    ['a Latin alpha (paypal with ɑ)', `xn--${encodePunycode('payp\u0251l')}.example`],
    ['a slash that is a letter (ǀ)', `xn--${encodePunycode('a\u01c0b\u00fc')}.example`],
    ['an overlaid long solidus', `xn--${encodePunycode('b\u0338\u00fc')}.example`],
    ['a symbol (fraction slash)', `xn--${encodePunycode('b\u00fc\u2044evil')}.example`],
    ['an invisible character', `xn--${encodePunycode('b\u00fc\u00adcher')}.example`],
    ['a full-width letter', `xn--${encodePunycode('\uff41b\u00fc')}.example`],
    ['a letter of a script that looks like Latin (Cherokee)', `xn--${encodePunycode('\u13aa\u13b3')}.example`],
    // As Chromium's IDN spoof checker (idn_spoof_checker.cc) refuses them: its whole-script confusables.
    ['Cyrillic letters that all read as Latin (ѕкуре)', `xn--${encodePunycode('\u0455\u043a\u0443\u0440\u0435')}.example`],
    ['Greek letters that all read as Latin (ηοω)', `xn--${encodePunycode('\u03b7\u03bf\u03c9')}.example`],
    ['Armenian letters that all read as Latin (յօհո)', `xn--${encodePunycode('\u0575\u0585\u0570\u0578')}.example`],
    ['Georgian letters that all read as Latin (ხოძ)', `xn--${encodePunycode('\u10ee\u10dd\u10eb')}.example`],
    ['Hebrew letters that all read as Latin (סו)', `xn--${encodePunycode('\u05e1\u05d5')}.example`],
    ['Thai letters that all read as Latin (ฟรฟร for wsws)', `xn--${encodePunycode('\u0e1f\u0e23\u0e1f\u0e23')}.example`],
    ['Thai letters that all read as Latin (พรบ for wsu)', `xn--${encodePunycode('\u0e1e\u0e23\u0e1a')}.example`],
    // and its dangerous patterns: kana and ideographs that read as a dash or a slash beside Latin.
    ['a Katakana mark that reads as a dash after Latin (googleーlogin)', `xn--${encodePunycode('google\u30fclogin')}.example`],
    ['a Katakana letter that reads as a slash between Latin ones (comノshop)', `xn--${encodePunycode('com\u30ceshop')}.example`],
    ['a Han ideograph that reads as a dash next to Latin (google一login)', `xn--${encodePunycode('google\u4e00login')}.example`],
    // and its digit look-alikes: a label of digits and letters that read as digits.
    ['Cyrillic letters that all read as digits (ззз for 333)', `xn--${encodePunycode('\u0437\u0437\u0437')}.example`],
    ['a Cyrillic letter among digits (12з4567890)', `xn--${encodePunycode('12\u04374567890')}.example`],
    ['an Armenian letter among digits (1շ34567890)', `xn--${encodePunycode('1\u057734567890')}.example`],
    ['a Georgian letter among digits (12ვ4567890)', `xn--${encodePunycode('12\u10d54567890')}.example`],
    ['a Greek theta among digits (1θ1)', `xn--${encodePunycode('1\u03b81')}.example`],
    ['a Bopomofo letter among digits (123ㄐ567890)', `xn--${encodePunycode('123\u3110567890')}.example`],
    ['a Han ideograph and a Bopomofo letter that read as 44', `xn--${encodePunycode('\u4e29\u3110')}.example`],
  ])('keeps the xn-- form of %s', (_, ascii) => {
    expect(unicodeHost(ascii)).toBe(ascii);
  });

  it('shows each label on its own merits', () => {
    const spoof = `xn--${encodePunycode('g\u043e\u043egle')}`;
    expect(unicodeHost(`xn--bcher-kva.${spoof}.example`)).toBe(`bücher.${spoof}.example`);
    expect(unicodeLabel(spoof)).toBe(spoof);
  });
});

describe('hostsIn', () => {
  it('finds host names with xn-- labels in a sentence or an address', () => {
    expect(hostsIn('DNS for xn--bcher-kva.example does not point here')).toEqual([
      { text: 'DNS for ' }, { text: 'bücher.example', host: 'xn--bcher-kva.example' }, { text: ' does not point here' },
    ]);
    expect(unicodeText('https://shop.xn--bcher-kva.example:8443/api')).toBe('https://shop.bücher.example:8443/api');
    expect(unicodeText('xn--bcher-kva.example/api')).toBe('bücher.example/api');
  });

  it('leaves text without such names, and names it keeps in xn-- form, as they are', () => {
    expect(hostsIn('port 2222')).toEqual([{ text: 'port 2222' }]);
    expect(hostsIn('xn--abc-.example failed')).toEqual([{ text: 'xn--abc-.example failed' }]);
    expect(hostsIn('')).toEqual([{ text: '' }]);
  });
});
