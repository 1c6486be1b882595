// The simple models of what each technique should cost: requests, delay, framing bytes per
// message, time to a first message. One source for the bench (bench/drivers/<id>.ts call
// these and judge its runs by them) and for the side-by-side page (pages/prediction.js
// puts each prediction beside the panel's live figure), so that the page predicts what
// the bench predicts. A model is chosen by the technique's capabilities and wire format,
// never by its name, and fed what was measured: clients, the ids published and over how
// long, the poll interval, the payload size, the epoch, the network's round trip.
import { IFRAME_MAX_BYTES, LONG_POLL_TIMEOUT_MS } from './defaults.js';
import { eventStream } from './formats/event-stream.js';
import { ndjson } from './formats/ndjson.js';
import { encodePollAnswer } from './formats/poll.js';
import { scriptStream } from './formats/script-stream.js';
import { websocketFrames } from './formats/websocket.js';

/** @import { Technique, WireFormat } from './techniques.js' */

/**
 * The network between the clients and the server, as far as the models use it.
 * @typedef {object} ModelNetwork
 * @property {number} rttMs             round trip added to loopback's, ms
 * @property {number} [bandwidthKbit]   per direction, kbit/s; none: loopback's
 * @property {number} [lossPercent]     share of chunks that arrive one RTO late, %
 */

/**
 * What a model is given: the run as it actually happened.
 * @typedef {object} ModelInput
 * @property {number} clients
 * @property {readonly number[]} publishedIds  the ids published, in order
 * @property {number} publishWindowMs          first publish to last, ms (0 when nothing was published)
 * @property {number} subscribedMs             how long the clients were connected, ms
 * @property {number} pollIntervalMs
 * @property {number} payloadBytesPerMessage   mean size of a delivered message's JSON, bytes
 * @property {string} epoch                    the feed's epoch ('' when the server names none)
 * @property {ModelNetwork | null} network     null: loopback, no shaping
 * @property {'json' | 'msgpack' | 'deflate'} [wsVariant]  for a technique that upgrades; absent: plain JSON
 */

/**
 * One prediction, and how far a measurement may be from it and still agree.
 * @typedef {object} Prediction
 * @property {'httpRequests' | 'meanLatencyMs' | 'framingBytesPerMessage' | 'firstMessageMs'} metric
 *   `firstMessageMs`: from a fresh client starting to connect to its holding a message already waiting
 * @property {number} predicted
 * @property {number} tolerance       as a fraction of the prediction (0.1 = ±10%), or
 * @property {number} [toleranceAbs]  in the metric's own unit, whichever is larger
 * @property {string} model           the model in words
 */

/**
 * Whether a measurement agrees with a prediction, within its tolerance.
 * @param {Prediction} prediction @param {number} measured
 */
export function agrees(prediction, measured) {
  const allowed = Math.max(prediction.tolerance * prediction.predicted, prediction.toleranceAbs ?? 0);
  return Math.abs(measured - prediction.predicted) <= allowed;
}

/**
 * TCP's retransmission timeout for a round trip, ms: a lost chunk arrives this much later.
 * @param {number} rttMs
 */
export function retransmissionTimeoutMs(rttMs) {
  return Math.max(200, 2 * rttMs);
}

/**
 * The round trip the network adds, ms (0 on loopback).
 * @param {ModelNetwork | null} network
 */
export function roundTripMs(network) {
  return network?.rttMs ?? 0;
}

/**
 * The mean time `bytes` take one way, ms: half the round trip, their serialisation at the
 * bandwidth, and the share of chunks lost times the retransmission timeout they wait.
 * @param {ModelNetwork | null} network @param {number} bytes
 */
export function oneWayMs(network, bytes) {
  if (!network) return 0;
  const serialisation = network.bandwidthKbit ? (bytes * 8) / network.bandwidthKbit : 0;
  const loss = ((network.lossPercent ?? 0) / 100) * retransmissionTimeoutMs(network.rttMs);
  return network.rttMs / 2 + serialisation + loss;
}

/**
 * What the models leave out on any network: the server writing to every client in turn
 * and the bench reading them all on one machine, ms; a tolerance, not a prediction.
 * @param {number} clients
 */
export function fanOutAllowanceMs(clients) {
  return 10 + 0.05 * clients;
}

/**
 * The mean delay of a stream (one response or connection carrying every message): one way, once.
 * @param {{ clients: number, network: ModelNetwork | null, payloadBytesPerMessage: number }} input
 * @returns {Prediction}
 */
export function streamLatency(input) {
  return {
    metric: 'meanLatencyMs',
    predicted: oneWayMs(input.network, input.payloadBytesPerMessage),
    tolerance: 0.25,
    toleranceAbs: fanOutAllowanceMs(input.clients),
    model: 'one way from the server: half the round trip, the bytes at the bandwidth, loss × RTO',
  };
}

/**
 * Beyond the trips, what a first message's time holds on any network: starting the client
 * itself on a shared machine, ms; a tolerance, not a prediction.
 */
export const FIRST_MESSAGE_ALLOWANCE_MS = 25;

/**
 * The time from a client starting to connect to its holding a message already waiting,
 * ms: `trips` round trips (TCP's handshake, then the request or upgrade and its answer),
 * each way of each trip possibly lost (loss × RTO). The bandwidth is left out: the few
 * hundred bytes of a handshake take about 12 ms at the slowest profile's 400 kbit/s,
 * inside the tolerance of its 800 ms of trips.
 * @param {ModelNetwork | null} network @param {number} trips @param {string} model
 * @returns {Prediction}
 */
export function firstMessageLatency(network, trips, model) {
  const loss = ((network?.lossPercent ?? 0) / 100) * (network ? retransmissionTimeoutMs(network.rttMs) : 0);
  return {
    metric: 'firstMessageMs',
    predicted: trips * (roundTripMs(network) + 2 * loss),
    tolerance: 0.25,
    toleranceAbs: FIRST_MESSAGE_ALLOWANCE_MS,
    model,
  };
}

/**
 * The framing of polling answers per message: the envelope of each answer that carries
 * messages (`{"messages":[` … `]}`, the contract's encoder for a client that named its
 * epoch: the cursor is the last message's id, so neither is written) and a comma between
 * two messages of one answer. An answer with nothing new is a 204 with no body: it adds
 * nothing. Null with nothing published.
 * @param {ModelInput} input @param {number} answers  answers carrying messages, per client
 * @param {string} model
 * @returns {Prediction | null}
 */
export function pollFraming({ publishedIds, epoch }, answers, model) {
  const messages = publishedIds.length;
  if (messages === 0) return null;
  const lastId = publishedIds.at(-1) ?? 0;
  // One message of zero bytes, to a client that named its cursor and epoch: what is left
  // is the envelope.
  const asked = { cursor: lastId - 1, epoch };
  const envelope = encodePollAnswer({ epoch, cursor: lastId, messagesJson: [''], lastMessageId: lastId }, asked).length;
  // The first answer of a client that started without a cursor (a page's) names both.
  const naming = encodePollAnswer({ epoch, cursor: lastId, messagesJson: [] }).length;
  const carrying = Math.max(1, Math.min(messages, answers));
  return {
    metric: 'framingBytesPerMessage',
    predicted: (carrying * envelope + (messages - carrying)) / messages,
    tolerance: 0.05,
    // Two answers more or fewer carrying an envelope, as a client's phase falls, and that
    // first answer.
    toleranceAbs: Math.max(2, (2 * envelope + naming) / messages),
    model,
  };
}

/**
 * A client that asks once per interval whatever happens (`pollsWhenIdle`).
 * @param {ModelInput} input
 * @returns {Prediction[]}
 */
export function intervalPollingModel(input) {
  const { clients, subscribedMs, pollIntervalMs, publishedIds, network, payloadBytesPerMessage } = input;
  /** @type {Prediction[]} */
  const predictions = [
    {
      metric: 'httpRequests',
      predicted: (clients * subscribedMs) / pollIntervalMs,
      tolerance: 0.1,
      toleranceAbs: clients,
      model: 'clients × time connected ÷ poll interval',
    },
  ];
  if (publishedIds.length > 0) {
    predictions.push({
      metric: 'meanLatencyMs',
      predicted: pollIntervalMs / 2 + oneWayMs(network, payloadBytesPerMessage),
      tolerance: 0.25,
      model: 'a message waits half an interval for the next poll, on average, then the answer travels one way',
    });
    // Messages closer together than an interval share the polls of the publishing window:
    // a poll finds new ones when it falls within an interval after one, (window + interval)
    // ÷ interval polls on average, as each client's phase falls.
    const framing = pollFraming(
      input,
      input.publishWindowMs / pollIntervalMs + 1,
      'the answer envelope once per poll that finds messages (one per interval while they come, one each when further apart) and a comma between two; an empty poll is a 204 with no body',
    );
    if (framing) predictions.push(framing);
  }
  predictions.push(
    firstMessageLatency(
      network,
      2,
      "TCP's handshake (1 round trip), then the first poll, which leaves at once and is answered with the message already waiting (1)",
    ),
  );
  return predictions;
}

/**
 * A request the server holds until a message comes, asked again at once (`holdsRequest`,
 * not `streams`), held for the server's default time.
 * @param {ModelInput} input
 * @returns {Prediction[]}
 */
export function heldPollingModel(input) {
  const { clients, publishedIds, subscribedMs, publishWindowMs, network, payloadBytesPerMessage } = input;
  // Timeouts only happen when nothing is published for a whole hold time.
  const timeouts = publishedIds.length === 0 ? Math.floor(subscribedMs / LONG_POLL_TIMEOUT_MS) : 0;
  const messages = publishedIds.length;
  const trip = roundTripMs(network);
  // After each answer the client is away one round trip (the answer going, the next
  // request coming). Messages further apart than that find a request waiting: one answer
  // each. Closer together, they pile up while it is away: one answer per round trip.
  const gap = messages > 1 ? publishWindowMs / (messages - 1) : Number.POSITIVE_INFINITY;
  const batching = trip > 0 && gap < trip;
  const answers = batching ? Math.min(messages, publishWindowMs / trip) : messages;
  /** @type {Prediction[]} */
  const predictions = [
    {
      metric: 'httpRequests',
      predicted: clients * (1 + answers + timeouts),
      tolerance: batching ? 0.2 : 0.1,
      toleranceAbs: clients,
      model: batching
        ? 'clients × (1 + publishing time ÷ round trip): messages come faster than one per trip, and are batched'
        : 'clients × (1 + messages + hold timeouts): one request per message',
    },
  ];
  if (messages > 0) {
    predictions.push({
      metric: 'meanLatencyMs',
      // Batched, a message waits for the request to come back: half a round trip on average.
      predicted: oneWayMs(network, payloadBytesPerMessage) + (batching ? trip / 2 : 0),
      tolerance: 0.25,
      toleranceAbs: fanOutAllowanceMs(clients),
      model: batching
        ? 'one way, plus half a round trip waiting for the next request (batching)'
        : 'one way: the request is already waiting at the server',
    });
    const framing = pollFraming(
      input,
      answers,
      batching
        ? 'the answer envelope once per round trip (batching) and a comma between two messages of an answer; a hold that ends empty is a 204 with no body'
        : 'the answer envelope once per message, each its own answer; a hold that ends empty is a 204 with no body',
    );
    if (framing) predictions.push(framing);
  }
  predictions.push(
    firstMessageLatency(
      network,
      2,
      "TCP's handshake (1 round trip), then the first request, answered at once since a message is waiting (1)",
    ),
  );
  return predictions;
}

/**
 * The close handshake of an upgraded connection, once per client: the client's close frame
 * (2 header bytes, a 4-byte mask, the 2-byte code) and the server's (2 header bytes, the code).
 */
const CLOSE_HANDSHAKE_BYTES = 8 + 4;

/**
 * What each streaming wire format writes besides the messages' JSON: the framing per
 * message (averaged over the stream's opening), the model of it in words, a byte count
 * past which the server ends the response and the client reopens (none: never), and what
 * a first message waits for. A format without an entry here is a type error.
 * @type {Record<Exclude<WireFormat, 'poll'>, {
 *   framing(input: ModelInput): number | null,
 *   framingModel: string,
 *   reopens?: { afterBytes: number, perMessageBytes: number },
 *   firstMessage: string,
 * }>}
 */
const STREAM_FORMATS = {
  'event-stream': {
    framing({ epoch, publishedIds }) {
      // The `retry:` line, and the event naming the feed's epoch (none without epochs).
      const opening = eventStream.open() + (epoch ? eventStream.control({ type: 'epoch', epoch }) : '');
      // `id: E.N\ndata: ` and the blank line; a server without epochs writes a bare `id: N`.
      /** @param {number} id */
      const framing = (id) => eventStream.message('', epoch, id).length - (epoch ? 0 : '.'.length);
      return (opening.length + publishedIds.reduce((sum, id) => sum + framing(id), 0)) / publishedIds.length;
    },
    framingModel:
      'the `id: <epoch>.<id>` and `data:` lines and the blank line per message, and the `retry:` line and the `epoch` event once',
    firstMessage:
      "TCP's handshake (1 round trip), then the request; the stream's opening and the history follow the response headers in the same flight (1)",
  },
  'script-stream': {
    framing({ epoch, publishedIds }) {
      const opening = scriptStream.open() + (epoch ? scriptStream.control({ type: 'epoch', epoch }) : '');
      return scriptStream.message('').length + opening.length / publishedIds.length;
    },
    framingModel:
      'the `<script>m(` … `)</script>` around the JSON per message, and the opening page with its `epoch` event once',
    // The server ends the document past its byte limit, counted as the messages' JSON and their calls.
    reopens: { afterBytes: IFRAME_MAX_BYTES, perMessageBytes: scriptStream.message('').length },
    firstMessage:
      "TCP's handshake (1 round trip), then the request; the document's opening and the history follow the response headers in the same flight (1)",
  },
  ndjson: {
    framing({ epoch, publishedIds }) {
      const opening = ndjson.open() + (epoch ? ndjson.control({ type: 'epoch', epoch }) : '');
      return ndjson.message('').length + opening.length / publishedIds.length;
    },
    framingModel: 'the line end per message, and the `epoch` line once',
    firstMessage:
      "TCP's handshake (1 round trip), then the request; the stream's `epoch` line and the history follow the response headers in the same flight (1)",
  },
  websocket: {
    framing({ epoch, publishedIds, payloadBytesPerMessage, wsVariant }) {
      // Compressed frames are shorter than their JSON, and MessagePack is too: their
      // "framing" (wire bytes less the JSON payload) comes out below zero, so the
      // frame-header model holds for JSON text frames alone.
      if ((wsVariant ?? 'json') !== 'json') return null;
      // RFC 6455 §5.2: 2 bytes up to 125 bytes of payload, 4 up to 65,535, 10 beyond.
      const header = payloadBytesPerMessage < 126 ? 2 : payloadBytesPerMessage < 65_536 ? 4 : 10;
      // The first frame names the feed's epoch: a short text frame, 2 header bytes and its JSON.
      const epochFrame = epoch ? 2 + websocketFrames.control({ type: 'epoch', epoch }).length : 0;
      return header + (CLOSE_HANDSHAKE_BYTES + epochFrame) / publishedIds.length;
    },
    framingModel:
      'the frame header per message: 2 bytes below 126 bytes of payload (RFC 6455 §5.2), and the epoch frame and the close handshake once',
    firstMessage:
      "TCP's handshake (1 round trip), then the upgrade; the epoch frame and the history follow the 101 in the same flight, no third trip (1)",
  },
};

/**
 * One response or connection carrying every message (`streams`), in wire format `wire`;
 * `upgrades`: reached by an HTTP Upgrade.
 * @param {Exclude<WireFormat, 'poll'>} wire @param {boolean} upgrades @param {ModelInput} input
 * @returns {Prediction[]}
 */
export function streamModel(wire, upgrades, input) {
  const { clients, publishedIds, payloadBytesPerMessage } = input;
  const format = STREAM_FORMATS[wire];
  /** @type {Prediction[]} */
  const predictions = [];
  if (format.reopens) {
    const { afterBytes, perMessageBytes } = format.reopens;
    const streamBytes = publishedIds.length * (payloadBytesPerMessage + perMessageBytes);
    predictions.push({
      metric: 'httpRequests',
      // Past the server's byte limit the response ends and the client reopens.
      predicted: clients * (1 + Math.floor(streamBytes / afterBytes)),
      tolerance: 0,
      toleranceAbs: clients,
      model: `one request per client, plus one reopening per ${afterBytes / 1024} KiB of stream`,
    });
  } else if (upgrades) {
    predictions.push({
      metric: 'httpRequests',
      predicted: clients,
      tolerance: 0,
      model: 'one upgrade request per client',
    });
  } else {
    predictions.push({
      metric: 'httpRequests',
      predicted: clients,
      tolerance: 0,
      model: 'one request per client, for the whole run',
    });
  }
  if (publishedIds.length > 0) predictions.push(streamLatency(input));
  const framing = publishedIds.length > 0 ? format.framing(input) : null;
  if (framing !== null) {
    predictions.push({
      metric: 'framingBytesPerMessage',
      predicted: framing,
      tolerance: 0.05,
      toleranceAbs: 2,
      model: format.framingModel,
    });
  }
  predictions.push(firstMessageLatency(input.network, 2, format.firstMessage));
  return predictions;
}

/**
 * The model of `technique`, chosen by its capabilities and wire format, for `input`: what
 * the bench judges its runs by, and what the side-by-side page shows beside each panel.
 * @param {Pick<Technique, 'wire' | 'capabilities'>} technique @param {ModelInput} input
 * @returns {Prediction[]}
 */
export function predict(technique, input) {
  const { capabilities, wire } = technique;
  if (capabilities.streams && wire !== 'poll') return streamModel(wire, capabilities.upgrades, input);
  if (capabilities.pollsWhenIdle) return intervalPollingModel(input);
  return heldPollingModel(input);
}
