// Types of @wotmq/client/channel: WebRTC DataChannels signalled through
// the hub (docs/channels.md), as the Go package wot/rtc.

import type { Client, ConsumedThing, ExposedThing, TimeoutError } from './index.js';

export interface ChannelOptions {
  /** Messages may arrive in another order (consumer side). */
  unordered?: boolean;
  /** Unreliable: a lost message is sent again at most this many times. Not with maxPacketLifeTime. */
  maxRetransmits?: number;
  /** Unreliable: a lost message is sent again during at most this many ms. */
  maxPacketLifeTime?: number;
  /** STUN and TURN servers; none by default (host candidates). */
  iceServers?: RTCIceServer[];
  /** Bounds the setup (signalling, ICE, DTLS, SCTP), in ms; 10 000 by default. */
  setupTimeout?: number;
  /** send waits while more than this is buffered (bytes, at most 256 KiB, the default)... */
  highWaterMark?: number;
  /** ...until it drains to this (a quarter of highWaterMark by default). */
  lowWaterMark?: number;
  /** Media to send: a stream's tracks (a camera)... */
  stream?: MediaStream;
  /** ...or these tracks. */
  tracks?: MediaStreamTrack[];
  /** Kinds of media to ask the agent for (consumer side): a receive-only transceiver each. */
  receive?: ('audio' | 'video')[];
  /** Gets each track the peer sends. */
  onTrack?: (track: MediaStreamTrack, streams: readonly MediaStream[], info: { thingId: string; session: string; peer: string }) => void;
  /** MIME types to put first, e.g. ['video/VP8'], where the browser lets us. */
  codecs?: string[];
  /** Sessions one consumer may hold with serveChannels at a time (16 when 0 or unset; negative: no bound); beyond, offers are refused with quota. */
  maxSessionsPerPeer?: number;
  /** Sessions one consumer may start with serveChannels in any minute (30 when 0 or unset; negative: no bound); beyond, offers are refused with quota. */
  maxSetupsPerMinute?: number;
  /** An RTCPeerConnection class where the platform has none (Node). */
  RTCPeerConnection?: typeof RTCPeerConnection;
}

export declare const channelDefaults: {
  readonly setupTimeout: number;
  readonly highWaterMark: number;
  readonly maxHighWaterMark: number;
  readonly maxMessageSize: number;
};

/** The Thing-level member of a twin TD that advertises channels: "wotmq:channel". */
export declare const channelMember: string;

/** No channel within setupTimeout: use hub messaging instead. */
export declare class SetupTimeoutError extends TimeoutError {}

/** The signalling topic a twin TD advertises, or ''. */
export declare function channelTopic(td: object): string;

export declare class Channel {
  readonly label: string;
  readonly thingId: string;
  readonly session: string;
  /** The account at the other end, as the hub authenticated it. */
  readonly peer: string;
  readonly ordered: boolean;
  readonly reliable: boolean;
  readonly bufferedAmount: number;
  readonly pc: RTCPeerConnection;
  readonly dc: RTCDataChannel;
  /** Resolves when the channel closed: either side, or the connection failed. */
  readonly closed: Promise<void>;
  /** A string for a text message, a Uint8Array for a binary one (wot/rtc's Send is binary, SendJSON text). */
  onMessage(fn: (data: string | Uint8Array) => void): void;
  /** Waits while the buffer is over the high-water mark. At most 65 535 bytes. */
  send(data: string | ArrayBuffer | ArrayBufferView): Promise<void>;
  sendJSON(value: unknown): Promise<void>;
  /** Sends bye through the hub and closes the connection. */
  close(): Promise<void>;
}

/**
 * Opens a channel to the agent of a Thing (things/{id}/channel); resolves
 * once it is open. DeniedError without the openchannel permission,
 * OfflineError when the agent is not connected, NotFoundError for an
 * unknown Thing or one that takes no channels, SetupTimeoutError.
 */
export declare function openChannel(client: Client, thingId: string, label: string, options?: ChannelOptions): Promise<Channel>;

/** openChannel on the topic the twin TD's wotmq:channel member names. */
export declare function openThingChannel(client: Client, thing: ConsumedThing, label: string, options?: ChannelOptions): Promise<Channel>;

/** Takes the channels consumers open to an exposed Thing; call before expose(). */
export declare function serveChannels(
  thing: ExposedThing,
  options: ChannelOptions,
  handler: (ch: Channel) => void,
): { readonly sessions: number; close(): Promise<void> };
export declare function serveChannels(thing: ExposedThing, handler: (ch: Channel) => void): { readonly sessions: number; close(): Promise<void> };
