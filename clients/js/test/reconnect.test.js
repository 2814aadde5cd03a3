// Connections that end: a dropped socket (recovery with no gap and no repeat), a server restart
// (recovered:false), a disconnect by the backend (4003, no reconnect), expiring tokens (4001), a
// resubscription the new token no longer allows. All of it runs once per protocol, JSON and
// MessagePack frames, each against a node of its own.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { RealtimeClient, RealtimeError } from '../src/realtime.js';
import { TcpProxy, TestServer, mintToken, nextEvent, sleep, waitFor } from './helpers/server.js';

for (const protocol of ['json', 'msgpack']) {
  describe(`over ${protocol}`, () => {
    let server;
    let proxy;
    const clients = [];

    before(async () => {
      server = await TestServer.start({ Realtime__Namespaces__team__Restricted: 'true' });
      proxy = await new TcpProxy(server.port).start();
    });
    afterEach(() => clients.splice(0).forEach((c) => c.close()));
    after(async () => {
      await proxy?.stop();
      await server?.stop();
    });

    function client(user, { url = proxy.wsUrl, ...options } = {}) {
      const c = new RealtimeClient(url, { WebSocket, protocol, token: mintToken(user), minReconnectDelay: 50, maxReconnectDelay: 400, ...options });
      clients.push(c);
      return c;
    }

    const publish = (channel, data) => server.api('POST', `/api/channels/${channel}/messages`, { data });

    test('after a dropped socket the client resubscribes from its last message: the 50 sent meanwhile arrive once each, in order', async () => {
      const c = client('rita');
      const states = [];
      c.on('state', (s) => states.push(s));
      await c.connect();
      const firstClient = c.info.client;
      const got = [];
      await c.subscribe('chat:recovery', { onMessage: (m) => got.push(m) });
      for (let i = 1; i <= 5; i++) await publish('chat:recovery', { n: i });
      await waitFor(() => got.length === 5, { message: 'the first 5 messages' });

      proxy.cut(); // no close frame: the client sees the socket die, as on a network failure
      await waitFor(() => c.state === 'reconnecting', { message: 'reconnecting' });
      for (let i = 6; i <= 55; i++) await publish('chat:recovery', { n: i });
      const resubscribed = nextEvent(c, 'subscribed', (e) => e.resubscribed);
      proxy.resume();

      const event = await resubscribed;
      assert.equal(event.recovered, true);
      assert.equal(event.offset, 55);
      await waitFor(() => got.length >= 55, { message: '55 messages' });
      await publish('chat:recovery', { n: 56 });
      await waitFor(() => got.length >= 56, { message: 'the live message after recovery' });
      await sleep(100);
      assert.deepEqual(got.map((m) => m.data.n), Array.from({ length: 56 }, (_, i) => i + 1));
      assert.deepEqual(got.map((m) => m.offset), Array.from({ length: 56 }, (_, i) => i + 1));
      assert.notEqual(c.info.client, firstClient, 'a new socket');
      assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);
    });

    test('after a reconnect, connected says reconnected:true, and onSubscribed and subscribed say resubscribed:true', async () => {
      const c = client('otto');
      const connected = [];
      c.on('connected', (e) => connected.push(e));
      const [handled, emitted] = [[], []];
      c.on('subscribed', (e) => emitted.push(e));
      await c.connect();
      await c.subscribe('chat:again', { onSubscribed: (e) => handled.push(e) });
      await publish('chat:again', { n: 1 });
      await waitFor(() => c.position('chat:again')?.offset === 1, { message: 'the first message' });

      proxy.cut();
      await waitFor(() => c.state === 'reconnecting', { message: 'reconnecting' });
      await publish('chat:again', { n: 2 });
      proxy.resume();
      await waitFor(() => handled.length === 2, { message: 'the resubscription' });

      assert.deepEqual(connected.map((e) => e.reconnected), [false, true]);
      assert.deepEqual(Object.keys(connected[1]).sort(), ['client', 'node', 'reconnected', 'user']);
      assert.equal(connected[1].user, 'otto');
      assert.equal(connected[1].client, c.info.client);
      assert.notEqual(connected[1].client, connected[0].client, 'a new socket');
      const { epoch } = handled[0];
      assert.deepEqual(handled, [
        { channel: 'chat:again', epoch, offset: 0, recovered: true, resubscribed: false },
        { channel: 'chat:again', epoch, offset: 2, recovered: true, resubscribed: true },
      ]);
      assert.deepEqual(emitted, handled, 'the handler and the event see the same');
    });

    test('a resubscription the new token does not allow ends that subscription: unsubscribed and error events', async () => {
      // The first token grants team:7 and expires; the one getToken gives after the 4001 does not grant it.
      const tokens = [mintToken('nell', { seconds: 1.5, channels: ['team:7'] })];
      const getToken = () => tokens.shift() ?? mintToken('nell');
      const c = client('nell', { token: undefined, getToken, refreshToken: false });
      await c.connect();
      const handled = [];
      await c.subscribe('team:7', { onSubscribed: (e) => handled.push(e) });
      await c.subscribe('chat:kept');
      const unsubscribed = nextEvent(c, 'unsubscribed', () => true, 8_000);
      const error = nextEvent(c, 'error', () => true, 8_000);
      const kept = nextEvent(c, 'subscribed', (e) => e.channel === 'chat:kept' && e.resubscribed, 8_000);

      const { type, channel, reason } = await unsubscribed;
      assert.deepEqual([type, channel], ['unsubscribed', 'team:7']);
      assert.match(reason, /does not allow/);
      const e = await error;
      assert.ok(e instanceof RealtimeError);
      assert.deepEqual([e.code, e.channel], ['forbidden', 'team:7']);
      await kept;
      assert.equal(c.state, 'connected');
      assert.equal(c.position('team:7'), null, 'the subscription is gone');
      assert.equal(handled.length, 1, 'onSubscribed is not called for the refused resubscription');
    });

    test('requests in flight when the socket drops reject with disconnected; later ones wait for the reconnect', async () => {
      const c = client('rex');
      await c.connect();
      await c.subscribe('chat:inflight');
      proxy.cut();
      await waitFor(() => c.state === 'reconnecting');
      const queued = c.publish('chat:inflight', { text: 'sent after the reconnect' });
      proxy.resume();
      assert.deepEqual(Object.keys(await queued).sort(), ['epoch', 'offset']);

      // A reply cannot come back over a socket cut right after the command went out.
      const inFlight = c.presence('chat:inflight');
      proxy.cut();
      await assert.rejects(inFlight, (e) => e.code === 'disconnected');
      proxy.resume();
      await waitFor(() => c.state === 'connected');
    });

    test('a connection that stops answering is found by ping and replaced, and recovery fills the gap', async () => {
      const c = client('paul', { pingInterval: 200, requestTimeout: 400 });
      await c.connect();
      const got = [];
      await c.subscribe('chat:frozen', { onMessage: (m) => got.push(m.data.n) });
      const close = nextEvent(c, 'close');
      const resubscribed = nextEvent(c, 'subscribed', (e) => e.resubscribed);
      proxy.freeze(); // nothing passes, nothing closes
      for (let i = 1; i <= 5; i++) await publish('chat:frozen', { n: i });
      const closed = await close;
      assert.deepEqual([closed.code, closed.reason, closed.reconnect], [4000, 'ping timed out', true]);
      assert.equal((await resubscribed).recovered, true);
      await waitFor(() => got.length === 5, { message: 'the 5 messages sent while frozen' });
      assert.deepEqual(got, [1, 2, 3, 4, 5]);
    });

    test('subscribe() while reconnecting waits for the connection', async () => {
      const c = client('sue');
      await c.connect();
      proxy.cut();
      await waitFor(() => c.state === 'reconnecting');
      const subscribing = c.subscribe('chat:later');
      await publish('chat:later', { n: 1 }); // before the subscription: not delivered
      proxy.resume();
      const result = await subscribing;
      assert.equal(result.offset, 1);
      assert.deepEqual(result.messages, []);
    });

    test('reconnect attempts back off exponentially with jitter, up to the maximum, and start over once connected', async (t) => {
      // Math.random is pinned, so each wait is known: half the ceiling plus random × half the ceiling,
      // the ceiling doubling from minReconnectDelay up to maxReconnectDelay.
      const random = t.mock.method(Math, 'random', () => 0);
      const ceilings = [40, 80, 160, 320, 320];
      proxy.cut();
      try {
        for (const r of [0, 0.5, 0.999]) {
          random.mock.mockImplementation(() => r);
          const c = client(`bo-${r}`, { minReconnectDelay: 40, maxReconnectDelay: 320 });
          const delays = [];
          c.on('close', (e) => e.reconnect && delays.push(e.delay));
          c.connect().catch(() => {});
          await waitFor(() => delays.length >= ceilings.length, { message: `${ceilings.length} refused attempts` });
          c.close();
          assert.deepEqual(delays.slice(0, ceilings.length), ceilings.map((ceiling) => Math.round(ceiling / 2 + (r * ceiling) / 2)), `random() = ${r}`);
        }
      } finally {
        proxy.resume();
      }

      // A connection that succeeds starts the backoff over.
      random.mock.mockImplementation(() => 0);
      const c = client('bo-again', { minReconnectDelay: 40, maxReconnectDelay: 320 });
      await c.connect();
      const delays = [];
      c.on('close', (e) => delays.push(e.delay));
      proxy.cut();
      await waitFor(() => delays.length >= 3, { message: '3 refused attempts' });
      proxy.resume();
      await waitFor(() => c.state === 'connected', { message: 'the reconnect' });
      assert.deepEqual(delays.slice(0, 3), [20, 40, 80]);
      const close = nextEvent(c, 'close');
      proxy.cut();
      assert.equal((await close).delay, 20);
      proxy.resume();
    });

    test('close() while reconnecting stops the attempts', async () => {
      const c = client('cleo');
      await c.connect();
      proxy.cut();
      await waitFor(() => c.state === 'reconnecting');
      c.close();
      const accepted = proxy.accepted;
      proxy.resume();
      await sleep(600);
      assert.equal(c.state, 'disconnected');
      assert.equal(proxy.accepted, accepted, 'no socket was opened after close()');
    });

    test('a disconnect by the backend (4003, reconnect:false) is final', async () => {
      const c = client('dave');
      await c.connect();
      const disconnect = nextEvent(c, 'disconnect');
      const close = nextEvent(c, 'close');
      const accepted = proxy.accepted;
      await server.api('POST', '/api/users/dave/disconnect', { reason: 'account suspended' });
      assert.deepEqual(await disconnect, { type: 'disconnect', code: 4003, reason: 'account suspended', reconnect: false });
      assert.deepEqual(await close, { code: 4003, reason: 'account suspended', reconnect: false });
      await sleep(500);
      assert.equal(c.state, 'disconnected');
      assert.equal(proxy.accepted, accepted, 'no reconnect attempt');
      await assert.rejects(c.ping(), (e) => e.code === 'closed');
    });

    test('an expired token (4001 "token expired") makes the client reconnect with a fresh token from getToken', async () => {
      const tokens = [];
      const getToken = () => { tokens.push(mintToken('tina', { seconds: 2 })); return tokens.at(-1); };
      const c = client('tina', { token: undefined, getToken, refreshToken: false });
      await c.connect();
      const got = [];
      await c.subscribe('chat:expiry', { onMessage: (m) => got.push(m.data.n) });
      const disconnect = nextEvent(c, 'disconnect', () => true, 5_000);
      const resubscribed = nextEvent(c, 'subscribed', (e) => e.resubscribed, 8_000);
      await publish('chat:expiry', { n: 1 });
      assert.deepEqual(await disconnect, { type: 'disconnect', code: 4001, reason: 'token expired', reconnect: true });
      await publish('chat:expiry', { n: 2 }); // while the client gets its new token and reconnects
      assert.equal((await resubscribed).recovered, true);
      assert.ok(tokens.length >= 2, 'getToken was called again');
      await publish('chat:expiry', { n: 3 });
      await waitFor(() => got.length === 3, { message: 'three messages' });
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(c.state, 'connected');
    });

    test('with refreshToken on, a fresh token is sent before expiry and the session is never interrupted', async () => {
      let calls = 0;
      const c = client('uma', { token: undefined, getToken: () => { calls++; return mintToken('uma', { seconds: 2 }); } });
      await c.connect();
      const { client: id } = c.info;
      const interruptions = [];
      c.on('disconnect', (e) => interruptions.push(e));
      c.on('close', (e) => interruptions.push(e));
      await sleep(5_000);
      assert.deepEqual(interruptions, []);
      assert.equal(c.info.client, id, 'the same socket throughout');
      assert.ok(calls >= 3, `getToken called ${calls} times`);
      assert.deepEqual(await c.ping(), {});
    });

    test('a token the server refuses twice in a row ends the attempts with unauthorized', async () => {
      let calls = 0;
      const c = client('vic', { token: undefined, getToken: () => { calls++; return 'bad.token.here'; } });
      await assert.rejects(c.connect(), (e) => e.code === 'unauthorized');
      assert.equal(calls, 2);
      assert.equal(c.state, 'disconnected');
    });

    // Last: the restart empties the memory engine.
    test('after a server restart the epoch differs: the client resubscribes with recovered:false and follows the new history', async () => {
      const c = client('walt', { url: server.wsUrl });
      await c.connect();
      const got = [];
      await c.subscribe('chat:restart', { onMessage: (m) => got.push(m) });
      await publish('chat:restart', { n: 1 });
      await publish('chat:restart', { n: 2 });
      await waitFor(() => got.length === 2);
      const before = got[0].epoch;

      const resubscribed = nextEvent(c, 'subscribed', (e) => e.resubscribed, 60_000);
      const close = nextEvent(c, 'close', () => true, 30_000);
      await server.restart();
      assert.equal((await close).reconnect, true);
      const event = await resubscribed;
      assert.equal(event.recovered, false);
      assert.notEqual(event.epoch, before);

      await publish('chat:restart', { n: 3 }); // offset 1 of the new epoch: not mistaken for a repeat
      await waitFor(() => got.length === 3, { message: 'the first message after the restart' });
      assert.deepEqual([got[2].data.n, got[2].offset, got[2].epoch], [3, 1, event.epoch]);
    });
  });
}
