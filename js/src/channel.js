// Real-time channels in the browser: WebRTC DataChannels between a consumer
// and the agent of a Thing, signalled through the hub with the protocol of
// the Go package wot/rtc (docs/channels.md), so that a browser and a Go
// twin (or two browsers) talk peer to peer; and audio and video tracks on
// the same sessions (options.stream or tracks to send, receive to ask for
// media, onTrack to get it). Needs RTCPeerConnection: every browser has
// it; in Node pass one (options.RTCPeerConnection).

import { topics, idProblem } from './topics.js';
import { randomHex, text } from './message.js';
import { WotError, TimeoutError, InvalidInputError, NotFoundError, ClosedError, codes } from './errors.js';

/** Defaults and bounds of channel options, as in wot/rtc. */
export const channelDefaults = Object.freeze({
  setupTimeout: 10_000,
  highWaterMark: 256 << 10,
  maxHighWaterMark: 256 << 10,
  maxMessageSize: 65_535,
});

/** The Thing-level member of a twin TD that advertises channels and names the signalling topic. */
export const channelMember = 'wotmq:channel';

/** No channel opened within the setup timeout: the peers found no path, or the agent did not answer. */
export class SetupTimeoutError extends TimeoutError {}

/** The signalling topic a twin TD advertises, or ''. */
export function channelTopic(td) {
  const m = td?.[channelMember];
  return (m && typeof m['mqv:topic'] === 'string' && m['mqv:topic']) || '';
}

function settings(opts = {}) {
  const o = { ...channelDefaults, ...opts };
  if (o.highWaterMark > o.maxHighWaterMark) {
    throw new InvalidInputError(codes.invalidPayload, `highWaterMark ${o.highWaterMark} is over ${o.maxHighWaterMark} bytes: more queued loses messages on unreliable channels`);
  }
  o.lowWaterMark ??= Math.floor(o.highWaterMark / 4);
  if (o.lowWaterMark >= o.highWaterMark) throw new InvalidInputError(codes.invalidPayload, 'lowWaterMark must be below highWaterMark');
  if (o.maxRetransmits !== undefined && o.maxPacketLifeTime !== undefined) {
    throw new InvalidInputError(codes.invalidPayload, 'set maxRetransmits or maxPacketLifeTime, not both');
  }
  o.RTCPeerConnection ??= globalThis.RTCPeerConnection;
  if (!o.RTCPeerConnection) {
    throw new InvalidInputError(codes.invalidPayload, 'no RTCPeerConnection here: channels need a browser, or options.RTCPeerConnection');
  }
  return o;
}

/** Runs async functions one after the other, in order (what a session sends). */
class Serial {
  constructor() {
    this.tail = Promise.resolve();
    this.stopped = false;
  }

  /** Queues fn; the promise is its result (the queue goes on after a failure). */
  push(fn) {
    const p = this.tail.then(() => (this.stopped ? undefined : fn()));
    this.tail = p.catch(() => {});
    return p;
  }
}

/**
 * Holds the peer's candidates until the remote description is set
 * (trickle ICE: they may overtake it).
 */
class Candidates {
  constructor(pc) {
    this.pc = pc;
    this.remote = false;
    this.pending = [];
  }

  async add(init) {
    if (!init || !init.candidate) return; // end of candidates
    if (!this.remote) {
      this.pending.push(init);
      return;
    }
    await this.pc.addIceCandidate(init);
  }

  async setRemote(desc) {
    await this.pc.setRemoteDescription(desc);
    this.remote = true;
    for (const init of this.pending.splice(0)) await this.pc.addIceCandidate(init);
  }
}

/** The tracks options ask to send: options.stream's, or options.tracks. */
function localTracks(o) {
  if (o.stream) return o.stream.getTracks().map((t) => [t, o.stream]);
  return (o.tracks ?? []).map((t) => [t]);
}

/** Sends the tracks of options on pc (after the offer, on an agent: they take the offer's transceivers). */
function addTracks(pc, o) {
  for (const [t, stream] of localTracks(o)) pc.addTrack(t, ...(stream ? [stream] : []));
  preferCodecs(pc, o);
}

/** Puts options.codecs (MIME types, e.g. 'video/VP8') first where the browser lets us. */
function preferCodecs(pc, o) {
  if (!o.codecs?.length || !pc.getTransceivers) return;
  for (const tr of pc.getTransceivers()) {
    const kind = tr.receiver?.track?.kind;
    const caps = globalThis.RTCRtpReceiver?.getCapabilities?.(kind)?.codecs;
    if (!caps || typeof tr.setCodecPreferences !== 'function') continue;
    const want = caps.filter((c) => o.codecs.some((m) => m.toLowerCase() === c.mimeType.toLowerCase()));
    if (want.length > 0) tr.setCodecPreferences([...want, ...caps.filter((c) => !want.includes(c))]);
  }
}

/** Hands the peer's tracks to options.onTrack(track, streams, info). */
function onTrack(pc, o, info) {
  if (!o.onTrack) return;
  pc.ontrack = (ev) => {
    try {
      o.onTrack(ev.track, ev.streams, info());
    } catch (err) {
      globalThis.console?.error('onTrack failed', err);
    }
  };
}

/**
 * An open DataChannel between a consumer and the agent of a Thing:
 * messages go peer to peer, not through the hub.
 */
export class Channel {
  constructor(pc, dc, { thingId, session, peer, o }) {
    this.pc = pc;
    this.dc = dc;
    this.label = dc.label;
    this.thingId = thingId;
    this.session = session;
    /** The account at the other end, as the hub authenticated it. */
    this.peer = peer;
    this._high = o.highWaterMark;
    this._max = o.maxMessageSize;
    this._handler = null;
    this._early = [];
    this._ended = false;
    this._sendBye = null;
    this._cleanup = null;
    let done;
    /** Resolves when the channel closed (either side, or the connection failed). */
    this.closed = new Promise((resolve) => { done = resolve; });
    this._done = done;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = o.lowWaterMark;
    dc.onmessage = (ev) => {
      const data = typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data);
      if (this._handler) this._handler(data);
      else this._early.push(data);
    };
    dc.onclose = () => this._shutdown(true);
  }

  /** Whether messages arrive in the order they were sent. */
  get ordered() {
    return this.dc.ordered;
  }

  /** Whether every message arrives. */
  get reliable() {
    return this.dc.maxRetransmits === null && this.dc.maxPacketLifeTime === null;
  }

  /** Bytes sent and not yet handed to the network. */
  get bufferedAmount() {
    return this.dc.bufferedAmount;
  }

  /**
   * Sets the function that gets the peer's messages (a string for text, a
   * Uint8Array for binary), replacing any earlier one; messages that came
   * before the first one wait for it.
   * @param {(data: string | Uint8Array) => void} fn
   */
  onMessage(fn) {
    this._handler = fn;
    for (const m of this._early.splice(0)) fn(m);
  }

  /**
   * Sends a message (a string as text, bytes as binary), waiting while
   * more than the high-water mark is buffered until it drains to the
   * low-water mark.
   * @param {string | ArrayBuffer | ArrayBufferView} data
   */
  async send(data) {
    const size = typeof data === 'string' ? new TextEncoder().encode(data).length : data.byteLength;
    if (size > this._max) throw new InvalidInputError(codes.invalidPayload, `message of ${size} bytes: at most ${this._max}`);
    while (this.dc.bufferedAmount > this._high) {
      if (this._ended) break;
      await new Promise((resolve) => {
        const wake = () => { this.dc.removeEventListener('bufferedamountlow', wake); resolve(); };
        this.dc.addEventListener('bufferedamountlow', wake);
        this.closed.then(wake);
      });
    }
    if (this._ended || this.dc.readyState !== 'open') throw new ClosedError(codes.internal, 'channel closed');
    this.dc.send(data);
  }

  /** Sends a value as JSON text. */
  sendJSON(v) {
    return this.send(JSON.stringify(v));
  }

  /** Closes the channel: bye through the hub, then the connection. */
  close() {
    this._shutdown(true);
    return this.closed;
  }

  _shutdown(bye) {
    if (this._ended) return;
    this._ended = true;
    const finish = () => {
      try { this.pc.close(); } catch { /* closed */ }
      this._cleanup?.();
      this._done();
    };
    if (bye && this._sendBye) this._sendBye().catch(() => {}).finally(finish);
    else finish();
  }
}

/**
 * Opens a channel labelled label to the agent of a Thing, signalled on its
 * channel topic (things/{id}/channel). Resolves once it is open; rejects
 * with DeniedError without the openchannel permission, OfflineError when
 * the agent is not connected, NotFoundError for an unknown Thing or one
 * that takes no channels, SetupTimeoutError after options.setupTimeout.
 * @param {import('./client.js').Client} client
 * @param {string} thingId
 * @param {string} label
 * @param {object} [options]
 */
export function openChannel(client, thingId, label, options = {}) {
  const p = idProblem(thingId);
  if (p) return Promise.reject(new InvalidInputError(codes.invalidTopic, `Thing ID ${JSON.stringify(thingId)}: ${p}`));
  return open(client, thingId, topics.channel(thingId), label, options);
}

/**
 * openChannel on the signalling topic a consumed Thing's twin TD
 * advertises (its wotmq:channel member).
 */
export function openThingChannel(client, thing, label, options = {}) {
  const topic = channelTopic(thing.td);
  if (!topic) {
    return Promise.reject(new NotFoundError(codes.unknownAffordance,
      `the TD of ${JSON.stringify(thing.id)} advertises no real-time channels (no ${channelMember}); use hub messaging`));
  }
  return open(client, thing.id, topic, label, options);
}

async function open(client, thingId, topic, label, options) {
  const o = settings(options);
  const start = Date.now();
  const session = randomHex(16);
  const replyTo = `${client.repliesTopic}/channels/${session}`;
  const pc = new o.RTCPeerConnection({ iceServers: o.iceServers ?? [] });
  const init = { ordered: !o.unordered };
  if (o.maxRetransmits !== undefined) init.maxRetransmits = o.maxRetransmits;
  if (o.maxPacketLifeTime !== undefined) init.maxPacketLifeTime = o.maxPacketLifeTime;
  const dc = pc.createDataChannel(label, init);
  const ch = new Channel(pc, dc, { thingId, session, peer: '', o });
  // media: what we ask to receive (a viewer), what we send (a camera)
  for (const kind of o.receive ?? []) pc.addTransceiver(kind, { direction: 'recvonly' });
  addTracks(pc, o);
  onTrack(pc, o, () => ({ thingId, session, peer: ch.peer }));
  const out = new Serial();
  const ice = new Candidates(pc);
  let offered = false;
  let refused = false; // the hub refused the offer: there is no session to end
  const held = [];
  const deadline = start + o.setupTimeout;
  const send = (sig) => out.push(() => client._publish(topic, JSON.stringify({ session, ...sig }), { responseTopic: replyTo },
    Math.max(deadline, Date.now() + o.setupTimeout), `${sig.type} signal`));

  let fail;
  const failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {});
  ch._sendBye = () => {
    out.stopped = true;
    return client._publish(topic, JSON.stringify({ session, type: 'bye' }), { responseTopic: replyTo }, Date.now() + 2_000, 'bye');
  };
  ch._cleanup = () => {
    out.stopped = true;
    client._channels.delete(session);
  };
  client._channels.set(session, {
    receive(payload, packet) {
      let sig;
      try {
        sig = JSON.parse(text(payload));
      } catch {
        return;
      }
      if (sig.session !== session) return;
      switch (sig.type) {
        case 'answer':
          ch.peer = packet.properties?.userProperties?.sender ?? '';
          ice.setRemote({ type: 'answer', sdp: sig.sdp }).catch((err) => fail(err));
          break;
        case 'candidate':
          ice.add(sig.candidate).catch((err) => client.log.debug('bad ICE candidate', err?.message));
          break;
        case 'error':
          fail(WotError.from(sig.error?.code || codes.internal, `open channel to ${thingId}: the agent refused: ${sig.error?.message ?? ''}`));
          ch._shutdown(false);
          break;
        case 'bye':
          fail(new ClosedError(codes.internal, `the agent of ${thingId} ended the session`));
          ch._shutdown(false);
          break;
      }
    },
    closeSilently() { ch._shutdown(false); },
  });
  // A candidate the hub refuses: the session ended (the agent's error or
  // bye says why), or the setup times out.
  const sendCandidate = (sig) => send(sig).catch((err) => client.log.debug('channel signal not taken', err?.message));
  pc.onicecandidate = (ev) => {
    if (!ev.candidate || !ev.candidate.candidate) return;
    const sig = { type: 'candidate', candidate: ev.candidate.toJSON() };
    if (offered) sendCandidate(sig);
    else held.push(sig);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed') {
      fail(new WotError(codes.internal, 'the peers found no network path (ICE failed)'));
      ch._shutdown(true);
    }
  };
  const opened = new Promise((resolve) => { dc.onopen = resolve; });
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new SetupTimeoutError(codes.timeout,
      `channel setup timed out (Thing ${thingId}, after ${Date.now() - start} ms); use hub messaging instead`)), o.setupTimeout);
  });
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // The offer goes first, then the candidates gathered meanwhile; the
    // hub refuses the offer at once (offline, denied, unknown Thing).
    send({ type: 'offer', label, sdp: pc.localDescription.sdp }).catch((err) => {
      refused = true;
      fail(err);
    });
    offered = true;
    for (const sig of held.splice(0)) sendCandidate(sig);
    await Promise.race([opened, failed, timedOut]);
  } catch (err) {
    clearTimeout(timer);
    ch._shutdown(!refused);
    throw err;
  }
  clearTimeout(timer);
  return ch;
}

/**
 * Takes the channels consumers open to a Thing this client exposes: it
 * answers their offers through the hub and calls handler with each
 * channel once it is open. Call it before expose(), so that no offer finds
 * the Thing without it (such offers are refused). Only the consumer's
 * first DataChannel of a session is taken; a session that did not open
 * within options.setupTimeout is dropped with bye.
 * @param {import('./agent.js').ExposedThing} thing
 * @param {object} options
 * @param {(ch: Channel) => void} handler
 * @returns {{close(): Promise<void>, readonly sessions: number}}
 */
export function serveChannels(thing, options, handler) {
  if (typeof options === 'function') [options, handler] = [{}, options];
  const o = settings(options);
  if (typeof handler !== 'function') throw new InvalidInputError(codes.invalidPayload, 'serveChannels without a handler');
  const log = thing._a.c.log;
  const sessions = new Map(); // by consumer + NUL + session ID
  const setups = new Map(); // by consumer: when it started sessions in the last minute
  let swept = 0;
  let closed = false;
  // takeSetup counts a new session of consumer if it started fewer than
  // max in the last minute (Go's Options.MaxSetupsPerMinute).
  const takeSetup = (consumer, max) => {
    const now = Date.now();
    const since = now - 60_000;
    if (now - swept >= 60_000) { // forget consumers idle for a minute
      for (const [c, ts] of setups) if (ts[ts.length - 1] <= since) setups.delete(c);
      swept = now;
    }
    const ts = (setups.get(consumer) ?? []).filter((t) => t > since);
    setups.set(consumer, ts);
    if (ts.length >= max) return false;
    ts.push(now);
    return true;
  };

  const accept = (sig, req, key) => {
    const pc = new o.RTCPeerConnection({ iceServers: o.iceServers ?? [] });
    const out = new Serial();
    const ice = new Candidates(pc);
    const s = { pc, out, ice, ch: null, answered: false, held: [], ended: false };
    const reply = (x) => out.push(() => req.reply(x)).catch((err) => log.debug('channel signal not taken', err?.message));
    s.end = (bye) => {
      if (s.ended) return;
      s.ended = true;
      clearTimeout(s.timer);
      sessions.delete(key);
      if (s.ch) {
        s.ch._shutdown(bye);
        return;
      }
      if (bye) reply({ type: 'bye' });
      out.stopped = true;
      try { pc.close(); } catch { /* closed */ }
    };
    s.timer = setTimeout(() => {
      if (!s.ch || s.ch.dc.readyState !== 'open') {
        log.info('channel setup timed out', req.thingId, req.sender);
        s.end(true);
      }
    }, o.setupTimeout);
    pc.ondatachannel = (ev) => {
      if (s.ch || s.ended) {
        ev.channel.close();
        return;
      }
      const ch = new Channel(pc, ev.channel, { thingId: req.thingId, session: sig.session, peer: req.sender, o });
      ch._sendBye = () => { out.stopped = true; return req.reply({ type: 'bye' }); };
      ch._cleanup = () => { s.ended = true; clearTimeout(s.timer); sessions.delete(key); };
      s.ch = ch;
      const opened = () => {
        clearTimeout(s.timer);
        try {
          handler(ch);
        } catch (err) {
          log.error('channel handler failed', err);
          ch.close();
        }
      };
      if (ev.channel.readyState === 'open') opened();
      else ev.channel.onopen = opened;
    };
    pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return;
      const c = { type: 'candidate', candidate: ev.candidate.toJSON() };
      if (s.answered) reply(c);
      else s.held.push(c);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') s.end(true);
    };
    onTrack(pc, o, () => ({ thingId: req.thingId, session: sig.session, peer: req.sender }));
    (async () => {
      await ice.setRemote({ type: 'offer', sdp: sig.sdp });
      addTracks(pc, o); // after the offer: the tracks take its transceivers
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      reply({ type: 'answer', sdp: pc.localDescription.sdp });
      s.answered = true;
      for (const c of s.held.splice(0)) reply(c);
    })().catch((err) => {
      log.info('cannot answer a channel offer', err?.message);
      out.push(() => req.reply({ type: 'error', error: { code: codes.agentError, message: `the agent cannot answer: ${err.message}` } })).catch(() => {});
      s.end(false);
    });
    return s;
  };

  thing.handleSignals((sig, req) => {
    const key = `${req.sender}\u0000${sig.session}`;
    let s = sessions.get(key);
    if (!s) {
      if (sig.type !== 'offer' || closed) return; // a late candidate or bye of a session that ended
      const max = o.maxSessionsPerPeer || 16; // as in Go: 0 is the default, negative no bound
      if (max > 0 && [...sessions.keys()].filter((k) => k.startsWith(`${req.sender}\u0000`)).length >= max) {
        req.reply({ type: 'error', error: { code: codes.quota, message: `${req.sender} has ${max} channel sessions with ${req.thingId} already, the most it may` } })
          .catch((err) => log.debug('channel refusal not taken', err?.message));
        return;
      }
      const rate = o.maxSetupsPerMinute || 30;
      if (rate > 0 && !takeSetup(req.sender, rate)) {
        req.reply({ type: 'error', error: { code: codes.quota, message: `${req.sender} started ${rate} channel sessions with ${req.thingId} in the last minute, the most it may; try again later` } })
          .catch((err) => log.debug('channel refusal not taken', err?.message));
        return;
      }
      s = accept(sig, req, key);
      sessions.set(key, s);
      return;
    }
    switch (sig.type) {
      case 'candidate':
        s.ice.add(sig.candidate).catch((err) => log.debug('bad ICE candidate', err?.message));
        break;
      case 'bye':
        s.end(false);
        break;
      case 'offer':
        log.info('ignoring a second offer in a channel session', req.sender);
        break;
    }
  });

  return {
    get sessions() {
      return sessions.size;
    },
    async close() {
      closed = true;
      thing.handleSignals(null);
      const all = [...sessions.values()];
      for (const s of all) s.end(true);
      await Promise.all(all.map((s) => s.ch?.closed));
    },
  };
}
