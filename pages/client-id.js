// The id a page gives all of its clients (`?client=ID`): the server keeps their bytes,
// blocks, publish limit and classroom figures under it, so whoever knows it can act as
// that page. Its last four characters are public (the classroom's tag, the default
// nickname `guest-XXXX`), and `/api/stats?client=ID` tells a used id from an unused one.

/** The characters of an id after `page-`: letters and digits, no `-` (which joins a page's id to an extra client's part). */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Characters after `page-`. */
export const CLIENT_ID_CHARACTERS = 8;

/** A new page id, `page-` and CLIENT_ID_CHARACTERS random characters. */
export function newClientId() {
  let id = '';
  for (let i = 0; i < CLIENT_ID_CHARACTERS; i += 1) id += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return `page-${id}`;
}
