/** The better-sse peer's client: the `eventsource` package on `/events`. */
import { EventSource } from 'eventsource';
import type { PeerClient } from './common.ts';

export const eventSourceClient: PeerClient = {
  client: 'eventsource (the EventSource package)',
  connect(context, hooks) {
    const source = new EventSource(`${context.baseUrl}/events`);
    source.onopen = () => hooks.open();
    source.onmessage = (event) => hooks.message(event.data as string);
    source.onerror = (event) => hooks.fail(new Error(event.message ?? 'error'));
    return { close: () => source.close() };
  },
};
