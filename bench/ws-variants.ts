/**
 * The WebSocket variants the bench can run a technique that upgrades in: its JSON text
 * frames as they are, its MessagePack subprotocol (binary frames), or JSON with
 * permessage-deflate. `--ws-variants` picks them; each upgrading technique runs once per
 * variant, the others once. What a variant means for the client (the subprotocol it
 * offers, the extension) is its driver's business; what it means for the server is here.
 */

/** How an upgrading technique's frames are written on the wire in one run. */
export type WsVariant = 'json' | 'msgpack' | 'deflate';
export const WS_VARIANTS: readonly WsVariant[] = ['json', 'msgpack', 'deflate'];
/** The default run: JSON only, so a bench without the flag does not grow. */
export const DEFAULT_WS_VARIANTS: readonly WsVariant[] = ['json'];

/** What each variant is, for the help text and the docs. */
export const WS_VARIANT_SUMMARIES: Readonly<Record<WsVariant, string>> = Object.freeze({
  json: 'JSON text frames, as the server speaks with no subprotocol offered',
  msgpack: 'the realtime-lab.v1.msgpack subprotocol: the same frames, MessagePack in binary frames',
  deflate: 'JSON text frames with permessage-deflate (the server started with WS_PERMESSAGE_DEFLATE=1)',
});

/** The environment the bench starts a server with for a variant: deflate turns the extension on. */
export function serverEnvFor(variant: WsVariant | null): Record<string, string> {
  return variant === 'deflate' ? { WS_PERMESSAGE_DEFLATE: '1' } : {};
}

/** Parses `--ws-variants json,msgpack,deflate`; throws an Error naming what is wrong. */
export function parseWsVariants(raw: string): WsVariant[] {
  const names = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new Error(`expected one or more of ${WS_VARIANTS.join(', ')}`);
  for (const name of names) {
    if (!(WS_VARIANTS as readonly string[]).includes(name))
      throw new Error(`unknown variant ${JSON.stringify(name)}; known: ${WS_VARIANTS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new Error('a variant is listed twice');
  return names as WsVariant[];
}
