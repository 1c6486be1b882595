// The wire timeline's colours, apart from its drawing so that the tests can read them
// without a DOM: a test finds each mark on the canvas by its exact colour.

/**
 * The marks' colours: exact, so a test can find each mark by its pixels. Dark enough to
 * read on a projector; none is a technique's colour (those name the panels).
 */
export const TIMELINE_COLORS = Object.freeze({
  request: '#1f4fb8',
  connection: '#11693f',
  message: '#b02e00',
  sent: '#5b1f99',
  end: '#111111',
  axis: '#6b7079',
  text: '#2b2f36',
  label: '#ffffff',
});
