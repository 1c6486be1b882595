/**
 * The renderer's side of the delay harness: DevTools' Network domain, for when the
 * renderer's main thread took each body chunk or WebSocket frame.
 */
import type { CDPSession } from 'playwright-core';
import { MESSAGE_ID, techniqueOfPath } from './stamps.ts';

/**
 * Body chunks the renderer received, per technique, as epoch ms; WebSocket frames per
 * `<technique> <id>`.
 */
export interface RendererLog {
  chunks: Map<string, number[]>;
  frames: Map<string, number>;
}

/**
 * Listens to DevTools' Network domain: a body chunk's `dataReceived` and a frame's
 * `webSocketFrameReceived` carry monotonic timestamps, turned into epoch ms with the
 * (wallTime, timestamp) pair each request or handshake starts with.
 */
export async function listenToRenderer(cdp: CDPSession): Promise<RendererLog> {
  const log: RendererLog = { chunks: new Map(), frames: new Map() };
  const techniqueOf = new Map<string, string>();
  let wallMinusMonotonic = Number.NaN;
  const calibrate = (wallTime: number, timestamp: number) => {
    wallMinusMonotonic = (wallTime - timestamp) * 1000;
  };
  cdp.on('Network.requestWillBeSent', (event) => {
    calibrate(event.wallTime, event.timestamp);
    const technique = techniqueOfPath(event.request.url);
    if (technique) techniqueOf.set(event.requestId, technique);
  });
  cdp.on('Network.webSocketCreated', (event) => {
    const technique = techniqueOfPath(event.url);
    if (technique) techniqueOf.set(event.requestId, technique);
  });
  cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => calibrate(event.wallTime, event.timestamp));
  cdp.on('Network.dataReceived', (event) => {
    const technique = techniqueOf.get(event.requestId);
    if (!technique) return;
    const list = log.chunks.get(technique) ?? [];
    list.push(event.timestamp * 1000 + wallMinusMonotonic);
    log.chunks.set(technique, list);
  });
  cdp.on('Network.webSocketFrameReceived', (event) => {
    const technique = techniqueOf.get(event.requestId);
    for (const match of event.response.payloadData.matchAll(MESSAGE_ID))
      log.frames.set(`${technique} ${match[1]}`, event.timestamp * 1000 + wallMinusMonotonic);
  });
  await cdp.send('Network.enable');
  return log;
}

/**
 * The renderer's stamp for a message in a technique's client: its frame, or the first body
 * chunk of that technique at or after the server wrote it (a chunk names no message; the
 * half millisecond allows for the two clocks' rounding).
 */
export function rendererStamp(log: RendererLog, technique: string, id: number, written: number): number {
  const frame = log.frames.get(`${technique} ${id}`);
  if (frame !== undefined) return frame;
  let best = Number.NaN;
  for (const at of log.chunks.get(technique) ?? []) if (at >= written - 0.5 && !(at >= best)) best = at;
  return best;
}
