// The TypeScript declarations in use. clients/js/test.sh compiles this file with `tsc --noEmit --strict`;
// nothing runs it. It uses every option, method, property, subscribe handler and event declared in
// src/realtime.d.ts with the types an app would give them, and each @ts-expect-error line is a misuse
// that the declarations must refuse. The maps keyed by `keyof RealtimeClient` and `keyof RealtimeEvents`
// and the Required<…> objects fail to compile when a declaration is added that this file does not use.
import * as msgpack from '@msgpack/msgpack';
import {
  RealtimeClient,
  RealtimeError,
  type CloseEvent,
  type ConnectInfo,
  type ConnectionState,
  type DirectMessage,
  type DisconnectPush,
  type HistoryPage,
  type InboxItem,
  type Message,
  type MessagePackCodec,
  type NotificationPush,
  type Position,
  type Presence,
  type PresenceChange,
  type RealtimeEvents,
  type RealtimeOptions,
  type SubscribeOptions,
  type SubscribeResult,
  type SubscribedEvent,
} from '../src/realtime.js';

const options: Required<RealtimeOptions> = {
  token: 'a.jwt.token',
  getToken: async () => 'a.jwt.token',
  WebSocket: class {},
  requestTimeout: 10_000,
  connectTimeout: 10_000,
  minReconnectDelay: 500,
  maxReconnectDelay: 15_000,
  pingInterval: 25_000,
  refreshToken: true,
  trackUnread: true,
  protocol: 'msgpack',
  codec: msgpack, // the module itself is a codec
};
const client = new RealtimeClient('ws://localhost:5000/ws', options);
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', protocol: 'json' });
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', protocol: 'msgpack' }); // loads @msgpack/msgpack itself
const ownCodec: MessagePackCodec = { encode: (value) => msgpack.encode(value), decode: (bytes: Uint8Array) => msgpack.decode(bytes) };
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', protocol: 'msgpack', codec: ownCodec });
// @ts-expect-error the protocols are 'json' and 'msgpack'
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', protocol: 'cbor' });
// @ts-expect-error a codec decodes too
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', protocol: 'msgpack', codec: { encode: msgpack.encode } });
// @ts-expect-error encode returns bytes
new RealtimeClient('ws://localhost:5000/ws', { token: 'a.jwt.token', codec: { encode: (value: unknown) => JSON.stringify(value), decode: msgpack.decode } });
new RealtimeClient(new URL('ws://localhost:5000/ws'), { getToken: () => 'a.jwt.token' });
// @ts-expect-error the options (a token or getToken) are required
new RealtimeClient('ws://localhost:5000/ws');
// @ts-expect-error getToken returns a string
new RealtimeClient('ws://localhost:5000/ws', { getToken: () => 42 });

const since: Position = { epoch: 'e1', offset: 41 };
const show = (m: Message): string => `${m.channel} ${m.epoch}/${m.offset} ${m.from ?? 'backend'} ${m.ts}`;
const presenceLine = (e: PresenceChange): string => `${e.type} ${e.channel} ${e.client} ${e.user}`;
const subscribeOptions: Required<SubscribeOptions> = {
  since,
  onMessage: (m) => show(m),
  onJoin: (e) => presenceLine(e),
  onLeave: (e) => presenceLine(e),
  onSubscribed: (e: SubscribedEvent) => e.resubscribed && !e.recovered,
};

// Every member of RealtimeClient, used with its declared types.
const members: { [K in keyof RealtimeClient]: () => unknown } = {
  state: () => {
    const state: ConnectionState = client.state;
    // @ts-expect-error state is read-only
    client.state = 'connected';
    return state;
  },
  info: () => {
    const info: ConnectInfo | null = client.info;
    return info && `${info.client} ${info.user} ${info.node}`;
  },
  unread: () => client.unread + 1,
  on: () => {
    const remove: () => void = client.on('message', show);
    remove();
    // @ts-expect-error not an event
    client.on('messages', () => {});
    // @ts-expect-error the unread payload is a number
    client.on('unread', (count: string) => count);
  },
  off: () => {
    const result: void = client.off('message', show);
    // @ts-expect-error the listener must take the event's payload
    client.off('join', (m: Message) => m);
    return result;
  },
  connect: async () => {
    const info: ConnectInfo = await client.connect();
    return info.user;
  },
  close: () => client.close(),
  subscribe: async () => {
    const result: SubscribeResult = await client.subscribe('chat:lobby', subscribeOptions);
    await client.subscribe('chat:plain');
    // @ts-expect-error since needs an offset
    await client.subscribe('chat:lobby', { since: { epoch: 'e1' } });
    return [result.channel, result.epoch, result.offset, result.recovered, result.messages.map(show)];
  },
  unsubscribe: async () => {
    const result: Record<string, never> = await client.unsubscribe('chat:lobby');
    return result;
  },
  position: () => {
    const position: Position | null = client.position('chat:lobby');
    return position?.offset;
  },
  publish: async () => {
    const { epoch, offset }: Position = await client.publish('chat:lobby', { text: 'hi' });
    // @ts-expect-error the channel is a string
    await client.publish(7, { text: 'hi' });
    return `${epoch}/${offset}`;
  },
  history: async () => {
    const page: HistoryPage = await client.history('chat:lobby', { limit: 50, since, before: 10 });
    await client.history('chat:lobby');
    // @ts-expect-error limit is a number
    await client.history('chat:lobby', { limit: '50' });
    return [page.epoch, page.offset, page.messages.map(show)];
  },
  presence: async () => {
    const presence: Presence = await client.presence('chat:lobby');
    return [presence.users, presence.clients.map((c) => `${c.client} ${c.user}`)];
  },
  send: async () => {
    const result: Record<string, never> = await client.send('bob', { text: 'psst' });
    return result;
  },
  notifications: async () => {
    const { items, unread }: { items: InboxItem[]; unread: number } = await client.notifications({ limit: 10, unread: true });
    await client.notifications();
    return [unread, items.map((i) => `${i.id} ${i.ts} ${i.read} ${String(i.data)}`)];
  },
  read: async () => {
    const { unread }: { unread: number } = await client.read(['n1', 'n2']);
    // @ts-expect-error ids is an array
    await client.read('n1');
    return unread;
  },
  ping: async () => {
    const result: Record<string, never> = await client.ping();
    return result;
  },
  request: async () => {
    const typed = await client.request<{ offset: number; epoch: string }>('publish', { channel: 'chat:lobby', data: 1 });
    const untyped: unknown = await client.request('ping');
    // @ts-expect-error fields is an object
    await client.request('ping', 'now');
    return [typed.offset, typed.epoch, untyped];
  },
};

// Every event, with a listener that reads its payload as declared.
const listeners: { [E in keyof RealtimeEvents]: (payload: RealtimeEvents[E]) => void } = {
  state: (state: ConnectionState) => state,
  connected: (e: ConnectInfo & { reconnected: boolean }) => e.reconnected && e.client,
  subscribed: (e: SubscribedEvent) => `${e.channel} ${e.epoch} ${e.offset} ${e.recovered} ${e.resubscribed}`,
  unsubscribed: (e: { type: 'unsubscribed'; channel: string; reason: string; since: Position | null }) => `${e.channel}: ${e.reason} ${e.since?.offset}`,
  message: (m: Message) => show(m),
  join: (e: PresenceChange) => presenceLine(e),
  leave: (e: PresenceChange) => presenceLine(e),
  notification: (n: NotificationPush) => `${n.type} ${n.id} ${n.ts} ${String(n.data)}`,
  direct: (d: DirectMessage) => `${d.type} ${d.from ?? 'backend'} ${d.ts} ${String(d.data)}`,
  unread: (count: number) => count.toFixed(0),
  disconnect: (e: DisconnectPush) => `${e.type} ${e.code} ${e.reason} ${e.reconnect}`,
  close: (e: CloseEvent) => `${e.code} ${e.reason} ${e.reconnect} ${e.delay ?? 0}`,
  error: (error: Error) => (error instanceof RealtimeError ? error.code : error.message),
};
function listen<E extends keyof RealtimeEvents>(event: E): void {
  const remove = client.on(event, listeners[event]);
  client.off(event, listeners[event]);
  remove();
}
(Object.keys(listeners) as (keyof RealtimeEvents)[]).forEach(listen);

const error = new RealtimeError('timeout', 'no reply');
const asError: Error = error;
const code: string = error.code;
// @ts-expect-error code is read-only
error.code = 'closed';

export { asError, code, members };
