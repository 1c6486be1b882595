// Sentences about however many techniques the registry holds: "five ways", "three HTTP
// connections (long polling, forever iframe and SSE)".

const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** A count as a word, up to ten; digits beyond. @param {number} count */
export function inWords(count) {
  return NUMBER_WORDS[count] ?? String(count);
}

/**
 * A title as it reads inside a sentence: "Long polling" becomes "long polling"; names
 * with capitals inside ("SSE", "WebSocket") stay as they are.
 * @param {string} title
 */
export function inSentence(title) {
  return /^[A-Z][a-z]*\b/.test(title) ? title[0].toLowerCase() + title.slice(1) : title;
}

/** "a", "a and b", "a, b and c". @param {readonly string[]} names */
export function listed(names) {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
