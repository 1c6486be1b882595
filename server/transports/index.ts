/**
 * The techniques, in the order the pages show them. Adding a technique is one file in
 * this folder and one line here: the app, the stats, the pages and the bench loop over
 * this list.
 */
import type { Transport } from '../transport.ts';
import { foreverIframe } from './forever-iframe.ts';
import { longPolling } from './long-polling.ts';
import { shortPolling } from './short-polling.ts';
import { sse } from './sse.ts';
import { websocket } from './websocket.ts';

export const transports: readonly Transport[] = Object.freeze([shortPolling, longPolling, foreverIframe, sse, websocket]);
