// How many tokens a text is taken for before any model has seen it (docs/contract.md §16). No tokenizer: the
// router does not know which model answers, and the ones behind Chutes (Qwen, DeepSeek, GLM, Kimi, Mistral,
// Gemma, gpt-oss) split text differently. A weight per character class, fitted so that the estimate is at or
// above the largest count of six real tokenizers on prose, code, JSON, CJK and other scripts, then raised by
// ESTIMATE_MARGIN (research/ESTIMATOR.md has the corpus, the tokenizers and the measured margin).

/** Letters a–z, A–Z: about four to a token in English words and identifiers. */
const LETTER_WEIGHT = 0.255;
/** Digits: Qwen's and DeepSeek's tokenizers give every digit a token of its own. */
const DIGIT_WEIGHT = 1;
/** ASCII punctuation: JSON and code punctuation rarely merges with its neighbours. */
const PUNCTUATION_WEIGHT = 0.8;
/** Spaces, tabs and newlines: mostly merged into the next word, indentation into runs. */
const WHITESPACE_WEIGHT = 0.2;
/** Cyrillic: Russian, Ukrainian and Bulgarian words are two to three letters to a token. */
const CYRILLIC_WEIGHT = 0.45;
/** Any other character (CJK, Greek, accented letters, emoji): up to a token each (Qwen's for Greek). */
const WIDE_WEIGHT = 1;

/** Headroom over the fitted weights, for text unlike the corpus they were fitted on. */
export const ESTIMATE_MARGIN = 1.05;

/** Tokens a chat template adds around each message (role markers, separators). */
export const TOKENS_PER_MESSAGE = 8;

/** The estimated tokens of `text`, rounded up; errs high (never below the largest real count measured). */
export function estimateTextTokens(text: string): number {
  return Math.ceil(textWeight(text) * ESTIMATE_MARGIN);
}

/** The unrounded weight of `text` before the margin, so many texts can be summed and rounded once. */
export function textWeight(text: string): number {
  let letters = 0;
  let digits = 0;
  let punctuation = 0;
  let whitespace = 0;
  let cyrillic = 0;
  let wide = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) {
      if (code >= 0x400 && code < 0x530) cyrillic++;
      // A surrogate pair is one character: count its high half only.
      else if (code < 0xdc00 || code > 0xdfff) wide++;
    } else if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) letters++;
    else if (code >= 0x30 && code <= 0x39) digits++;
    else if (code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0d) whitespace++;
    else punctuation++;
  }
  return (
    letters * LETTER_WEIGHT +
    digits * DIGIT_WEIGHT +
    punctuation * PUNCTUATION_WEIGHT +
    whitespace * WHITESPACE_WEIGHT +
    cyrillic * CYRILLIC_WEIGHT +
    wide * WIDE_WEIGHT
  );
}

/** The weight of the JSON text of `value` (tools' schemas, an unknown content part), through `replacer`. */
export function jsonWeight(value: unknown, replacer?: (key: string, value: unknown) => unknown): number {
  return textWeight(JSON.stringify(value, replacer) ?? "");
}

/** Rounds a summed weight into tokens with the margin. */
export function weightToTokens(weight: number): number {
  return Math.ceil(weight * ESTIMATE_MARGIN);
}
