// The delay probe: clients of one or more techniques in an otherwise empty page, recording
// for every message when the page's code got it. The query says what to run:
//   technique=<id>[,<id>…]  the registry's techniques, one client each
//   reader=client           each technique's own page client (/clients/<id>.js), the default
//   reader=fetch            an event-stream endpoint read with fetch() and a stream reader
//                           instead of EventSource (other techniques keep their client)
//   panel=1                 the side-by-side page's panel around each client, each drawing
//                           its timeline every frame
// The harness (pages/delays/harness.ts) reads window.probe.
import { messageOf } from '/contract/feed.js';
import { EventStreamParser } from '/contract/formats/event-stream.js';
import { techniqueById } from '/contract/techniques.js';
import { FeedClient } from '../clients/client.js';
import { CLOCK_RESAMPLE_AFTER_MS, ServerClock, epochNow } from '../clock.js';
import { Panel } from '../panel.js';

/** @import { Message } from '/contract/feed.js' */
/** @import { Technique } from '/contract/techniques.js' */

/**
 * One message as one client got it: the server's `ts`, and when the page's code ran, read
 * from this page's clock (`at`, epoch ms from performance.now()) and through the
 * side-by-side page's clock-offset estimate (`atServer`).
 * @typedef {{ technique: string, id: number, ts: number, at: number, atServer: number }} Arrival
 */

const query = new URLSearchParams(location.search);
const state = /** @type {HTMLElement} */ (document.getElementById('probe-state'));

// The side-by-side page's clock (app.js): sampled at once, and again once the clients are open.
const clock = new ServerClock();

const probe = {
  /** @type {Arrival[]} */
  arrivals: [],
  /** The clock's best sample once the clients are open: its round trip and the offset it gave, ms. */
  clock: { rtt: Number.NaN, offset: Number.NaN },
  /** Techniques whose client is open. @type {string[]} */
  open: [],
  /** Every client is open and the clock sampled again: the harness may publish. */
  ready: false,
  /** @type {string | null} */
  error: null,
  /**
   * Publishes `total` messages of `text` at `rate` a second with POST from this page, as
   * the side-by-side page's ticker does: their answers come back as the messages do.
   * @param {number} rate @param {number} total @param {string} text
   */
  ticker(rate, total, text) {
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      if (sent >= total) clearInterval(timer);
      fetch('/api/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ author: 'probe', text }),
      }).catch((error) => {
        probe.error = String(error);
      });
    }, 1000 / rate);
  },
};
Object.assign(window, { probe });

/** @param {Technique} technique @param {Message} message */
function arrived(technique, message) {
  const at = epochNow();
  probe.arrivals.push({ technique: technique.id, id: message.id, ts: message.ts, at, atServer: at + clock.offset });
}

/** An event-stream endpoint read with fetch(): the same bytes as EventSource, without it. @param {Technique} technique */
async function readWithFetch(technique) {
  const response = await fetch(`/api/${technique.id}`, { cache: 'no-store' });
  if (!response.body) throw new Error('no body');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser();
  probe.open.push(technique.id);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const item of parser.push(value)) if (item.kind === 'message') arrived(technique, messageOf(item));
  }
}

/** @param {Technique} technique @param {HTMLElement} root */
async function openClient(technique, root) {
  /** @type {FeedClient} */
  let client;
  if (query.get('panel') === '1') {
    const panel = new Panel({ technique, root, clientId: 'probe', serverNow: () => clock.now() });
    const loaded = await panel.load();
    if (!loaded) throw new Error(`no client for ${technique.id}`);
    client = loaded;
    const draw = () => {
      panel.timeline.draw();
      requestAnimationFrame(draw);
    };
    requestAnimationFrame(draw);
  } else {
    const { Client } = await import(`/clients/${technique.id}.js`);
    client = new Client({ technique, clientId: 'probe' });
  }
  // Stamped before whatever the page does with the message (a panel draws it).
  const show = client.hooks.onMessage;
  client.hooks.onMessage = (message) => {
    arrived(technique, message);
    show?.(message);
  };
  const showState = client.hooks.onState;
  client.hooks.onState = (next) => {
    showState?.(next);
    if (next === 'OPEN' && !probe.open.includes(technique.id)) probe.open.push(technique.id);
  };
  client.open();
}

async function start() {
  const ids = (query.get('technique') ?? '').split(',');
  const chosen = ids.map((id) => techniqueById(id));
  const missing = ids.filter((_id, index) => !chosen[index]);
  if (missing.length) throw new Error(`no technique ${JSON.stringify(missing)}`);
  await clock.sample(4);
  const root = /** @type {HTMLElement} */ (document.getElementById('panels'));
  for (const technique of /** @type {Technique[]} */ (chosen)) {
    if (query.get('reader') === 'fetch' && technique.wire === 'event-stream') void readWithFetch(technique);
    else await openClient(technique, root);
  }
  while (probe.open.length < chosen.length) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, CLOCK_RESAMPLE_AFTER_MS));
  await clock.sample();
  probe.clock = { rtt: clock.rtt, offset: clock.offset };
  probe.ready = true;
}

// After the page's load event, as on the side-by-side page: a forever iframe never finishes
// loading, and one created earlier would hold the load event forever.
const loaded = new Promise((resolve) => {
  if (document.readyState === 'complete') resolve(undefined);
  else window.addEventListener('load', resolve, { once: true });
});

loaded.then(start).then(
  () => {
    state.textContent = 'running';
  },
  (error) => {
    probe.error = String(error);
    state.textContent = probe.error;
  },
);
