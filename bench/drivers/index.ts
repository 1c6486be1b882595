/**
 * One bench driver per technique, in the order of `server/transports/index.ts`. A sixth
 * technique adds its driver file here and one line to this list; `index.test.ts` checks
 * that every server transport has one.
 */
import type { BenchDriver } from './driver.ts';
import { foreverIframe } from './forever-iframe.ts';
import { longPolling } from './long-polling.ts';
import { shortPolling } from './short-polling.ts';
import { sse } from './sse.ts';
import { websocket } from './websocket.ts';

export const drivers: readonly BenchDriver[] = Object.freeze([shortPolling, longPolling, foreverIframe, sse, websocket]);
