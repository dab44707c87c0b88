/**
 * The fold the library searches and sorts by (src/db/library-keys.ts), on
 * its own: which differences in a name it ignores — case, the accents of
 * Latin, Greek, Cyrillic, Arabic and Hebrew, normalisation, strokes,
 * typographic apostrophes, the script of a digit — and which it keeps, the
 * marks that make another letter in kana and Indic scripts.
 */
import { describe, expect, it } from 'vitest';
import { foldText, nameSortKey } from '../src/db/library-keys.ts';

/** Asserts that every text of `same` folds as `folded`. */
const expectFolds = (same: string[], folded: string) => {
  for (const text of same) expect(foldText(text), JSON.stringify(text)).toBe(folded);
};

describe('the library fold', () => {
  it('ignores case, accents and normalisation in Latin, Greek, Cyrillic, Arabic and Hebrew', () => {
    expectFolds(['café', 'CAFÉ', 'cafe\u0301', 'Café'], 'cafe');
    expectFolds(['İstanbul', 'ISTANBUL'], 'istanbul');
    expectFolds(['Straße', 'STRASSE'], 'strasse');
    expectFolds(['Αθηνάς', 'ΑΘΗΝΆΣ', 'αθηνας'], 'αθηνασ');
    expectFolds(['Ёлка', 'елка'], 'елка');
    expectFolds(['مُحَمَّد', 'محمد'], 'محمد');
    expectFolds(['שָׁלוֹם', 'שלום'], 'שלום');
    expectFolds(['Việt', 'viet'], 'viet');
    expectFolds(['ﬁeld', 'ＦＩＥＬＤ'], 'field');
  });

  it('keeps the marks that make another letter: kana voicing, Indic and Thai vowel signs', () => {
    // papa and haha (mother), glass and crow, (political) party and heart.
    const pairs = [
      ['パパ', 'ハハ'],
      ['ぱぱ', 'はは'],
      ['ガラス', 'カラス'],
      ['दल', 'दिल'],
      ['กิน', 'กน'],
    ] as const;
    for (const [one, other] of pairs) {
      expect(foldText(one), `${one} ${other}`).not.toBe(foldText(other));
      expect(foldText(other), other).not.toContain(foldText(one));
    }
    // Precomposed or not, full- or half-width: the same letters.
    expectFolds(['ガラス', 'カ\u3099ラス', 'ｶﾞﾗｽ'], 'カ\u3099ラス');
    expectFolds(['दिल', 'दिल'.normalize('NFD')], 'दिल');
  });

  it('ignores variation selectors and format characters', () => {
    expectFolds(['❤️', '❤', '❤\ufe0e'], '❤');
    expectFolds(['a\u200bb', 'a\u00adb', 'a\u2060b', 'ab'], 'ab');
    expectFolds(['👩\u200d💻'], '👩💻');
  });

  it('spells stroked and joined letters plainly, in either case', () => {
    expectFolds(['Łódź', 'ŁÓDŹ', 'lodz'], 'lodz');
    expectFolds(['Ørsted', 'ørsted', 'Ǿrsted'], 'orsted');
    expectFolds(['Đakovo', 'đakovo'], 'dakovo');
    expectFolds(['Guðrún', 'GUÐRÚN'], 'gudrun');
    expectFolds(['Ħamrun'], 'hamrun');
    expectFolds(['Ærø', 'ÆRØ', 'aero'], 'aero');
    expectFolds(['Œuvre', 'œuvre'], 'oeuvre');
    expectFolds(['Þórr', 'ÞÓRR'], 'thorr');
  });

  it('writes typographic apostrophes as the one a keyboard types', () => {
    expectFolds(["Mum's", 'Mum’s', 'Mum‘s', 'Mumʼs', "MUM'S"], "mum's");
  });

  it('writes the decimal digits of every script as ASCII digits of the same value', () => {
    expectFolds(
      ['photo ١٠', 'photo ۱۰', 'photo १०', 'photo ১০', 'photo 𝟏𝟎', 'photo 10'],
      'photo 10',
    );
    // Every numbering system the platform knows that has digits of its own, digit by digit.
    let systems = 0;
    for (const numberingSystem of Intl.supportedValuesOf('numberingSystem')) {
      const format = new Intl.NumberFormat('en', { numberingSystem, useGrouping: false });
      const digits = Array.from({ length: 10 }, (_, d) => format.format(d));
      if (!digits.every((d) => /^\p{Nd}$/u.test(d))) continue;
      systems += 1;
      expect(digits.map(foldText).join(''), numberingSystem).toBe('0123456789');
    }
    expect(systems).toBeGreaterThan(40);
  });

  it('sorts numbers by value whatever their digits', () => {
    const names = ['photo ١٠.jpg', 'photo ٩.jpg', 'photo 1٠1.jpg', 'photo ٢.jpg', 'photo 11.jpg'];
    const sorted = [...names].sort((a, b) => (nameSortKey(a) < nameSortKey(b) ? -1 : 1));
    expect(sorted).toEqual([
      'photo ٢.jpg',
      'photo ٩.jpg',
      'photo ١٠.jpg',
      'photo 11.jpg',
      'photo 1٠1.jpg',
    ]);
    expect(nameSortKey('photo ٩.jpg')).toBe(nameSortKey('photo 9.jpg'));
  });
});
