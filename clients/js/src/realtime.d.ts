// Types for realtime.js. The wire shapes follow docs/protocol.md.

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** A channel position: the history's epoch and a message offset within it. */
export interface Position {
  epoch: string;
  offset: number;
}

export interface ConnectInfo {
  /** This socket's id (16 hex characters). */
  client: string;
  user: string;
  node: string;
}

export interface Message<T = unknown> {
  type: 'message';
  channel: string;
  offset: number;
  epoch: string;
  /** The publisher's user id; null when published through the REST API. */
  from: string | null;
  data: T;
  /** UTC, ISO 8601 with a Z suffix. */
  ts: string;
}

export interface PresenceChange {
  type: 'join' | 'leave';
  channel: string;
  client: string;
  user: string;
}

export interface NotificationPush<T = unknown> {
  type: 'notification';
  id: string;
  data: T;
  ts: string;
}

export interface DirectMessage<T = unknown> {
  type: 'direct';
  from: string | null;
  data: T;
  ts: string;
}

export interface DisconnectPush {
  type: 'disconnect';
  code: number;
  reason: string;
  reconnect: boolean;
}

export interface SubscribeResult {
  channel: string;
  epoch: string;
  offset: number;
  /** false when the messages after `since` could not all be replayed: reload the channel's state. */
  recovered: boolean;
  /** What came after `since`, oldest first (also delivered as `message` events). */
  messages: Message[];
}

export interface SubscribedEvent {
  channel: string;
  epoch: string;
  offset: number;
  recovered: boolean;
  /** true when this is a resubscription after a reconnect. */
  resubscribed: boolean;
}

export interface CloseEvent {
  /** The close code; 4000 when the client gave up on the socket (no connect or ping reply in time). */
  code: number;
  reason: string;
  /** Whether the client will reconnect, and after how many milliseconds. */
  reconnect: boolean;
  delay?: number;
}

export interface HistoryPage {
  epoch: string;
  /** The channel's latest offset. */
  offset: number;
  messages: Message[];
}

export interface Presence {
  clients: { client: string; user: string }[];
  /** Distinct users. */
  users: number;
}

export interface InboxItem<T = unknown> {
  id: string;
  data: T;
  ts: string;
  read: boolean;
}

/**
 * Encodes and decodes MessagePack: the `@msgpack/msgpack` module itself, its browser build's `MessagePack`
 * global, or any object with these two functions. decode must return integers as numbers, not BigInt.
 */
export interface MessagePackCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export interface RealtimeOptions {
  /** A JWT. Give this or getToken. */
  token?: string;
  /** Returns a fresh JWT; called on connect, after a 4001, and before the current token expires. */
  getToken?: () => string | Promise<string>;
  /** A WebSocket class; defaults to globalThis.WebSocket (Node 20 has none: pass the `ws` package's). */
  WebSocket?: unknown;
  /** Milliseconds to wait for a reply (default 10000). */
  requestTimeout?: number;
  /** Milliseconds from opening the socket to the connect reply (default 10000). */
  connectTimeout?: number;
  /** Reconnect backoff bounds in milliseconds (defaults 500 and 15000); each wait is jittered. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Milliseconds between `ping` commands that check the connection; 0 turns them off (default 25000). */
  pingInterval?: number;
  /** With getToken, send a fresh token before the current one expires (default true). */
  refreshToken?: boolean;
  /** Fetch the unread notification count on every connect (default true). */
  trackUnread?: boolean;
  /**
   * 'json' (default): one JSON text frame each way. 'msgpack': the `realtime.msgpack` subprotocol, one
   * MessagePack binary frame each way, holding the same objects.
   */
  protocol?: 'json' | 'msgpack';
  /** For protocol 'msgpack'; without it the client loads `@msgpack/msgpack` with import() on first connect. */
  codec?: MessagePackCodec;
}

export interface SubscribeOptions {
  /** Resume after this position: later messages are replayed first. */
  since?: Position;
  onMessage?: (message: Message) => void;
  onJoin?: (event: PresenceChange) => void;
  onLeave?: (event: PresenceChange) => void;
  onSubscribed?: (event: SubscribedEvent) => void;
}

export interface RealtimeEvents {
  state: ConnectionState;
  connected: ConnectInfo & { reconnected: boolean };
  subscribed: SubscribedEvent;
  unsubscribed: { type: 'unsubscribed'; channel: string; reason: string; since: Position | null };
  message: Message;
  join: PresenceChange;
  leave: PresenceChange;
  notification: NotificationPush;
  direct: DirectMessage;
  unread: number;
  disconnect: DisconnectPush;
  close: CloseEvent;
  error: Error;
}

/** An error reply (`code` as in the protocol: bad_request, forbidden, …) or a local one: timeout, disconnected, closed. */
export class RealtimeError extends Error {
  constructor(code: string, message: string);
  readonly code: string;
}

export class RealtimeClient {
  /** `url` is the node's /ws endpoint; http(s) is turned into ws(s). */
  constructor(url: string | URL, options: RealtimeOptions);

  readonly state: ConnectionState;
  /** Who this connection is, once connected. */
  info: ConnectInfo | null;
  /** The unread notification count. */
  unread: number;

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof RealtimeEvents>(event: E, listener: (payload: RealtimeEvents[E]) => void): () => void;
  off<E extends keyof RealtimeEvents>(event: E, listener: (payload: RealtimeEvents[E]) => void): void;

  connect(): Promise<ConnectInfo>;
  close(): void;

  subscribe(channel: string, options?: SubscribeOptions): Promise<SubscribeResult>;
  unsubscribe(channel: string): Promise<Record<string, never>>;
  /** The last position seen on a subscribed channel. */
  position(channel: string): Position | null;

  publish(channel: string, data: unknown): Promise<Position>;
  history(channel: string, options?: { limit?: number; since?: Position; before?: number }): Promise<HistoryPage>;
  presence(channel: string): Promise<Presence>;
  send(user: string, data: unknown): Promise<Record<string, never>>;
  notifications(options?: { limit?: number; unread?: boolean }): Promise<{ items: InboxItem[]; unread: number }>;
  read(ids: string[]): Promise<{ unread: number }>;
  ping(): Promise<Record<string, never>>;
  /** Sends any command and resolves with its result. */
  request<T = unknown>(type: string, fields?: Record<string, unknown>): Promise<T>;
}
