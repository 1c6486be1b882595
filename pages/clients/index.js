// The techniques, in the order the pages show them: one line each.
import { ForeverIframeClient } from './forever-iframe.js';
import { LongPollingClient } from './long-polling.js';
import { ShortPollingClient } from './short-polling.js';
import { SseClient } from './sse.js';
import { WebSocketClient } from './websocket.js';

export const techniques = [
  { id: 'short-polling', title: 'Short polling', Client: ShortPollingClient },
  { id: 'long-polling', title: 'Long polling', Client: LongPollingClient },
  { id: 'forever-iframe', title: 'Forever iframe', Client: ForeverIframeClient },
  { id: 'sse', title: 'SSE', Client: SseClient },
  { id: 'websocket', title: 'WebSocket', Client: WebSocketClient },
];
