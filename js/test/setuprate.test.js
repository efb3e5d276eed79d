// serveChannels bounds the sessions one consumer may start in a minute
// (maxSetupsPerMinute, Go's Options.MaxSetupsPerMinute). Node has no
// RTCPeerConnection: both sides get a stub that does the signalling only
// (its DataChannel "opens" when the answer arrives), which is all the
// bound is about; the browser tests exercise real sessions.
import test from 'node:test';
import assert from 'node:assert/strict';

import { BusyError } from '../src/errors.js';
import { openChannel, serveChannels } from '../src/channel.js';
import { client, lampTD, uniqueId } from './helpers.js';

class StubPC {
  constructor() {
    this.dc = { readyState: 'connecting', bufferedAmount: 0, close() { this.readyState = 'closed'; }, send() {} };
  }
  createDataChannel() { return this.dc; }
  addTransceiver() {}
  getTransceivers() { return []; }
  addTrack() {}
  async createOffer() { return { type: 'offer', sdp: 'v=0 stub offer' }; }
  async createAnswer() { return { type: 'answer', sdp: 'v=0 stub answer' }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription(d) {
    this.remoteDescription = d;
    if (d.type === 'answer') { // the consumer: "open" once answered
      this.dc.readyState = 'open';
      queueMicrotask(() => this.dc.onopen?.());
    }
  }
  async addIceCandidate() {}
  close() { this.dc.close(); }
}

test('serveChannels refuses offers beyond maxSetupsPerMinute with quota', async (t) => {
  const agent = await client(t);
  const id = `urn:js:${uniqueId('rated')}`;
  const thing = agent.produce(lampTD(id));
  const served = serveChannels(thing, { RTCPeerConnection: StubPC, maxSetupsPerMinute: 2, setupTimeout: 60_000 }, () => {});
  t.after(() => served.close());
  await thing.expose();
  const app = await client(t);
  const opts = { RTCPeerConnection: StubPC, setupTimeout: 10_000 };
  for (const n of [1, 2]) {
    const ch = await openChannel(app, id, `s${n}`, opts); // within the rate: answered
    await ch.close();
  }
  await assert.rejects(openChannel(app, id, 's3', opts),
    (err) => err instanceof BusyError && err.code === 'quota' && /in the last minute/.test(err.message));
  const other = await client(t);
  const ch = await openChannel(other, id, 'theirs', opts); // another consumer is not held back
  await ch.close();
});
