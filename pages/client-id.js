// The id a page gives all of its clients (`?client=ID`): the server keeps their bytes,
// blocks, publish limit and classroom figures under it, so whoever knows it can act as
// that page. Its last four characters are public (the classroom's tag, the default
// nickname `guest-XXXX`), and `/api/stats?client=ID` tells a used id from an unused one.

/** The characters of an id after `page-`: letters and digits, no `-` (which joins a page's id to an extra client's part). */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/**
 * Characters after `page-`: 20, so that the 16 not shown are 82 bits to guess, where 4 of 8
 * left 1.7 million guesses, minutes of asking `/api/stats`.
 */
export const CLIENT_ID_CHARACTERS = 20;
/** The largest byte that maps onto the alphabet evenly: bytes from it up are drawn again. */
const UNBIASED_BELOW = 256 - (256 % ALPHABET.length);

/** A new page id, `page-` and CLIENT_ID_CHARACTERS characters from the crypto random source. */
export function newClientId() {
  let id = '';
  while (id.length < CLIENT_ID_CHARACTERS) {
    for (const byte of crypto.getRandomValues(new Uint8Array(CLIENT_ID_CHARACTERS))) {
      if (byte < UNBIASED_BELOW && id.length < CLIENT_ID_CHARACTERS) id += ALPHABET[byte % ALPHABET.length];
    }
  }
  return `page-${id}`;
}
