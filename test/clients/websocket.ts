/**
 * The test client of the `websocket` wire format: the `ws` package, offering the
 * subprotocols it is given, each server frame read with the contract's parser of the
 * subprotocol the server chose.
 */
import WebSocket from 'ws';
import {
  SUBPROTOCOLS,
  type ServerFrame,
  parseMsgpackServerFrame,
  parseServerFrame,
} from '../../server/contract/formats/websocket.js';
import { messageOf } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { type ClientOptions, type FeedClient, clientState, endpoint } from './client.ts';
import { caFor } from '../tls-fetch.ts';

/** Opens a WebSocket on `technique`; resolves once the handshake is done. */
export async function websocketClient(technique: Technique, url: string, options: ClientOptions): Promise<FeedClient> {
  const client = clientState(technique, options);
  // Over TLS (wss://), an HTTP/1.1 upgrade on a connection of its own, trusting the test certificate.
  const socket = new WebSocket(
    endpoint(url.replace(/^http/, 'ws'), technique, options),
    [...(options.subprotocols ?? [])],
    { ca: caFor(url) },
  );
  socket.on('message', (data, isBinary) => {
    const frame = readServerFrame(socket.protocol, data as Buffer, isBinary);
    if (frame.kind === 'message') client.take(messageOf(frame));
    else if (frame.kind === 'control') client.control(frame.event);
    // A publish answer: this client does not publish, so none is expected; none is kept.
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    ...client,
    reconnects: false,
    close: async () => {
      if (socket.readyState === WebSocket.CLOSED) return;
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close();
      });
    },
  };
}

/**
 * A server frame, read as the negotiated subprotocol says; a frame of the other kind
 * (binary in JSON, text in MessagePack) is the server breaking its word, and throws.
 */
function readServerFrame(protocol: string, data: Buffer, isBinary: boolean): ServerFrame {
  const binaryExpected = protocol === SUBPROTOCOLS.msgpack;
  if (isBinary !== binaryExpected) {
    throw new Error(`a ${isBinary ? 'binary' : 'text'} frame in ${protocol || 'no subprotocol'}`);
  }
  return isBinary ? parseMsgpackServerFrame(data) : parseServerFrame(data.toString());
}
