// Every call of the client against a real node: connect, subscribe, publish, history, presence,
// join/leave, direct messages, notifications, ping, request, on/off, errors, timeouts and close().
// A fake socket stands in where a real node cannot be made to do it (no reply, repeats, an eviction).
// All of it runs once per protocol, JSON and MessagePack frames, each against a node of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { RealtimeClient, RealtimeError } from '../src/realtime.js';
import { FakeSocket } from './helpers/fake-socket.js';
import { TestServer, mintToken, nextEvent, sleep, waitFor } from './helpers/server.js';

for (const protocol of ['json', 'msgpack']) {
  describe(`over ${protocol}`, () => {
    let server;
    const clients = [];

    // team:* channels need a token whose `channels` claim grants them (SPEC §6, Restricted).
    before(async () => { server = await TestServer.start({ Realtime__Namespaces__team__Restricted: 'true' }); });
    after(async () => {
      clients.forEach((c) => c.close());
      await server?.stop();
    });

    function client(user, options = {}) {
      const c = new RealtimeClient(server.wsUrl, { WebSocket, protocol, token: mintToken(user), minReconnectDelay: 50, maxReconnectDelay: 500, ...options });
      clients.push(c);
      return c;
    }

    async function connected(user, options) {
      const c = client(user, options);
      await c.connect();
      return c;
    }

    describe('connecting', () => {
      test('connect with a token resolves with the connection and moves through connecting to connected', async () => {
        const c = client('alice');
        const states = [];
        c.on('state', (s) => states.push(s));
        const info = await c.connect();
        assert.equal(info.user, 'alice');
        assert.match(info.client, /^[0-9a-f]{16}$/);
        assert.equal(info.node, `js-tests-${server.port}`);
        assert.deepEqual(c.info, info);
        assert.deepEqual(states, ['connecting', 'connected']);
        assert.equal(c.state, 'connected');
        assert.deepEqual(await c.connect(), info, 'connect() on a live connection resolves at once');
      });

      test('connect with getToken uses the token it returns (here a development token from /dev/token)', async () => {
        let calls = 0;
        const c = client('ignored', { token: undefined, getToken: () => { calls++; return server.devToken('dora'); } });
        assert.equal((await c.connect()).user, 'dora');
        assert.equal(calls, 1);
      });

      test('a bad token rejects connect() with unauthorized and does not retry', async () => {
        const c = client('mallory', { token: 'not.a.token' });
        const closes = [];
        c.on('close', (e) => closes.push(e));
        await assert.rejects(c.connect(), (e) => e instanceof RealtimeError && e.code === 'unauthorized');
        assert.equal(c.state, 'disconnected');
        await sleep(300);
        assert.deepEqual(closes.map((e) => [e.code, e.reconnect]), [[4001, false]]);
      });

      test('a request made while connecting is sent once the connection is up', async () => {
        const c = client('early');
        const connecting = c.connect();
        assert.equal(c.state, 'connecting');
        const reply = c.ping();
        await connecting;
        assert.deepEqual(await reply, {});
      });

      test('a getToken that throws is reported as an error event, and connect() goes on with the next attempt', async () => {
        let calls = 0;
        const getToken = () => {
          if (++calls === 1) throw new Error('token service down');
          return mintToken('gina');
        };
        const c = client('ignored', { token: undefined, getToken });
        const error = nextEvent(c, 'error');
        const close = nextEvent(c, 'close');
        assert.equal((await c.connect()).user, 'gina');
        assert.equal((await error).message, 'token service down');
        const { code, reason, reconnect } = await close;
        assert.deepEqual({ code, reason, reconnect }, { code: 0, reason: 'getToken failed', reconnect: true });
        assert.equal(calls, 2);
      });

      test('connectTimeout: a socket whose connect gets no reply is dropped (close 4000) and replaced (fake server)', { timeout: 5_000 }, async () => {
        FakeSocket.reset();
        const sockets = [];
        FakeSocket.onCommand = (socket, command) => {
          if (command.type !== 'connect') return;
          sockets.push(socket);
          if (sockets.length > 1) socket.reply(command.id, { client: 'c', user: 'u', node: 'n' }); // the first socket never answers
        };
        const c = new RealtimeClient('ws://fake/ws', {
          WebSocket: FakeSocket, protocol, token: 't', connectTimeout: 150, minReconnectDelay: 10, maxReconnectDelay: 10, trackUnread: false, pingInterval: 0,
        });
        const close = nextEvent(c, 'close');
        const started = Date.now();
        assert.deepEqual(await c.connect(), { client: 'c', user: 'u', node: 'n' });
        assert.ok(Date.now() - started >= 140, 'the first socket was given connectTimeout ms (timers may fire a few ms early by Date.now())');
        const { code, reason, reconnect } = await close;
        assert.deepEqual({ code, reason, reconnect }, { code: 4000, reason: 'connect timed out', reconnect: true });
        assert.equal(sockets.length, 2);
        assert.equal(sockets[0].readyState, 3, 'the silent socket was closed');
        c.close();
      });

      test('the constructor needs a WebSocket and a token', () => {
        const { WebSocket: global } = globalThis;
        if (!global) assert.throws(() => new RealtimeClient(server.wsUrl, { token: 'x' }), /WebSocket/);
        assert.throws(() => new RealtimeClient(server.wsUrl, { WebSocket }), /token/);
      });
    });

    describe('channels', () => {
      test('subscribe, then publish from two clients: each sees both messages, in order, with publisher and offset', async () => {
        const [alice, bob] = [await connected('alice'), await connected('bob')];
        const seen = { alice: [], bob: [] };
        const handler = [];
        const sub = await alice.subscribe('chat:one', { onMessage: (m) => handler.push(m.data.text) });
        assert.equal(sub.channel, 'chat:one');
        assert.equal(sub.recovered, true);
        assert.equal(sub.offset, 0);
        assert.equal(typeof sub.epoch, 'string');
        await bob.subscribe('chat:one');
        alice.on('message', (m) => seen.alice.push(m));
        bob.on('message', (m) => seen.bob.push(m));

        const first = await alice.publish('chat:one', { text: 'hi bob' });
        assert.deepEqual(first, { offset: 1, epoch: sub.epoch });
        await bob.publish('chat:one', { text: 'hi alice' });

        await waitFor(() => seen.alice.length === 2 && seen.bob.length === 2, { message: 'both messages on both clients' });
        for (const list of [seen.alice, seen.bob]) {
          assert.deepEqual(list.map((m) => [m.offset, m.from, m.data.text]), [[1, 'alice', 'hi bob'], [2, 'bob', 'hi alice']]);
          assert.ok(list.every((m) => m.channel === 'chat:one' && m.epoch === sub.epoch && m.ts.endsWith('Z')));
        }
        assert.deepEqual(handler, ['hi bob', 'hi alice']);
        assert.deepEqual(alice.position('chat:one'), { epoch: sub.epoch, offset: 2 });
      });

      test('a REST publish reaches subscribers with from = null', async () => {
        const c = await connected('rest-reader');
        await c.subscribe('chat:rest');
        const message = nextEvent(c, 'message');
        await server.api('POST', '/api/channels/chat:rest/messages', { data: { text: 'from backend' } });
        const m = await message;
        assert.equal(m.from, null);
        assert.deepEqual(m.data, { text: 'from backend' });
      });

      test('join and leave reach the other subscribers, globally and through the channel handlers', async () => {
        const alice = await connected('alice');
        const joins = [];
        const leaves = [];
        await alice.subscribe('chat:presence', { onJoin: (e) => joins.push(e), onLeave: (e) => leaves.push(e) });
        const globalJoin = nextEvent(alice, 'join', (e) => e.channel === 'chat:presence');

        const bob = await connected('bob');
        await bob.subscribe('chat:presence');
        const join = await globalJoin;
        assert.equal(join.user, 'bob');
        assert.equal(join.client, bob.info.client);
        assert.deepEqual(joins, [join]);

        const presence = await alice.presence('chat:presence');
        assert.equal(presence.users, 2);
        assert.deepEqual(presence.clients.map((c) => c.user).sort(), ['alice', 'bob']);

        const leave = nextEvent(alice, 'leave', (e) => e.channel === 'chat:presence');
        assert.deepEqual(await bob.unsubscribe('chat:presence'), {});
        assert.equal((await leave).client, bob.info.client);
        assert.equal(leaves.length, 1);
        assert.equal((await alice.presence('chat:presence')).users, 1);
      });

      test('history returns the newest messages, or those after `since`, or before `before`, oldest first', async () => {
        const c = await connected('historian');
        for (let i = 1; i <= 6; i++) await server.api('POST', '/api/channels/chat:history/messages', { data: { n: i } });
        const latest = await c.history('chat:history', { limit: 3 });
        assert.equal(latest.offset, 6);
        assert.deepEqual(latest.messages.map((m) => m.data.n), [4, 5, 6]);
        const after = await c.history('chat:history', { since: { epoch: latest.epoch, offset: 2 }, limit: 2 });
        assert.deepEqual(after.messages.map((m) => m.offset), [3, 4]);
        const earlier = await c.history('chat:history', { before: 3 });
        assert.deepEqual(earlier.messages.map((m) => m.offset), [1, 2]);
        assert.deepEqual((await c.history('chat:history')).messages.length, 6);
      });

      test('subscribe with `since` replays what came after it, once each', async () => {
        const c = await connected('resumer');
        const { epoch } = await c.history('chat:resume');
        for (let i = 1; i <= 4; i++) await server.api('POST', '/api/channels/chat:resume/messages', { data: { n: i } });
        const got = [];
        const sub = await c.subscribe('chat:resume', { since: { epoch, offset: 1 }, onMessage: (m) => got.push(m.offset) });
        assert.equal(sub.recovered, true);
        assert.deepEqual(sub.messages.map((m) => m.offset), [2, 3, 4]);
        assert.deepEqual(got, [2, 3, 4]);
      });

      test('unsubscribe stops delivery; subscribing twice is refused', async () => {
        const c = await connected('quitter');
        await c.subscribe('chat:quit');
        await assert.rejects(c.subscribe('chat:quit'), (e) => e.code === 'bad_request');
        await c.unsubscribe('chat:quit');
        const got = [];
        c.on('message', (m) => got.push(m));
        await server.api('POST', '/api/channels/chat:quit/messages', { data: 1 });
        await c.ping();
        await sleep(100);
        assert.deepEqual(got, []);
        assert.equal(c.position('chat:quit'), null);
      });

      test('server errors reject with a RealtimeError carrying the code', async () => {
        const c = await connected('clumsy');
        await assert.rejects(c.publish('bad channel!', { x: 1 }), (e) => e instanceof RealtimeError && e.code === 'bad_request');
        await assert.rejects(c.subscribe('no spaces'), (e) => e.code === 'bad_request');
        assert.equal(c.position('no spaces'), null, 'a refused subscription is forgotten');
        await assert.rejects(c.read('not-an-array'), (e) => e.code === 'bad_request');
        assert.deepEqual(await c.ping(), {}, 'the connection stays usable');
      });
    });

    describe('listeners', () => {
      test('off() removes a listener, and so does the function on() returns: neither fires again, the others do', async () => {
        const c = await connected('fickle');
        await c.subscribe('chat:off');
        const [removedByOff, removedByReturn, kept] = [[], [], []];
        const listener = (m) => removedByOff.push(m.data.n);
        c.on('message', listener);
        const remove = c.on('message', (m) => removedByReturn.push(m.data.n));
        c.on('message', (m) => kept.push(m.data.n));
        await c.publish('chat:off', { n: 1 });
        await waitFor(() => kept.length === 1, { message: 'the first message' });

        c.off('message', listener);
        remove();
        c.off('direct', listener); // a listener that was never added: nothing happens
        await c.publish('chat:off', { n: 2 });
        await c.publish('chat:off', { n: 3 });
        await waitFor(() => kept.length === 3, { message: 'the later messages' });
        assert.deepEqual(kept, [1, 2, 3]);
        assert.deepEqual(removedByOff, [1]);
        assert.deepEqual(removedByReturn, [1]);
      });
    });

    describe('users', () => {
      test('send delivers a direct message to every socket of the user', async () => {
        const alice = await connected('alice');
        const [phone, laptop] = [await connected('bob'), await connected('bob')];
        const received = Promise.all([nextEvent(phone, 'direct'), nextEvent(laptop, 'direct')]);
        assert.deepEqual(await alice.send('bob', { text: 'psst' }), {});
        for (const d of await received) {
          assert.equal(d.from, 'alice');
          assert.deepEqual(d.data, { text: 'psst' });
        }
      });

      test('notifications: pushes raise the unread count, notifications() lists them, read() marks them', async () => {
        const c = client('nora');
        const initial = nextEvent(c, 'unread');
        await c.connect();
        assert.equal(await initial, 0, 'the count is fetched on connect');
        const unreadEvents = [];
        c.on('unread', (n) => unreadEvents.push(n));
        const pushes = [];
        c.on('notification', (n) => pushes.push(n));
        const first = await server.api('POST', '/api/users/nora/notifications', { data: { title: 'one' } });
        await server.api('POST', '/api/users/nora/notifications', { data: { title: 'two' } });
        await waitFor(() => pushes.length === 2, { message: 'two notification pushes' });
        assert.equal(pushes[0].id, first.id);
        assert.deepEqual(pushes.map((n) => n.data.title), ['one', 'two']);
        assert.equal(c.unread, 2);
        assert.deepEqual(unreadEvents, [1, 2]);

        const list = await c.notifications({ limit: 10 });
        assert.equal(list.unread, 2);
        assert.deepEqual(list.items.map((i) => [i.data.title, i.read]), [['two', false], ['one', false]]);
        assert.deepEqual(await c.read([first.id]), { unread: 1 });
        assert.equal(c.unread, 1);
        assert.deepEqual((await c.notifications({ unread: true })).items.map((i) => i.data.title), ['two']);
      });

      test('the unread count is fetched on connect, for notifications that arrived while offline', async () => {
        await server.api('POST', '/api/users/olive/notifications', { data: { title: 'while you were away' } });
        const c = client('olive');
        const unread = nextEvent(c, 'unread');
        await c.connect();
        assert.equal(await unread, 1);
        assert.equal(c.unread, 1);
      });
    });

    describe('requests and close', () => {
      test('request(type, fields) sends any command and resolves with its result', async () => {
        const c = await connected('generic', { token: mintToken('generic', { channels: ['team:7'] }) });
        const published = await c.request('publish', { channel: 'chat:generic', data: { text: 'raw' } });
        assert.deepEqual(Object.keys(published).sort(), ['epoch', 'offset']);
        const page = await c.request('history', { channel: 'chat:generic', limit: 5 });
        assert.deepEqual(page.messages.map((m) => [m.offset, m.from, m.data.text]), [[published.offset, 'generic', 'raw']]);
        assert.equal((await c.request('subscribe', { channel: 'team:7' })).channel, 'team:7', 'the token grants team:7');
        assert.deepEqual(await c.request('ping'), {}, 'fields may be left out');
      });

      test('request() rejects an error reply with a RealtimeError carrying the code and message', async () => {
        const c = await connected('generic-errors'); // no channels claim: team:* is forbidden
        await assert.rejects(c.request('frobnicate', { x: 1 }), (e) => e instanceof RealtimeError && e.code === 'bad_request' && /frobnicate/.test(e.message));
        await assert.rejects(c.request('presence', { channel: 'bad channel!' }), (e) => e instanceof RealtimeError && e.code === 'bad_request');
        await assert.rejects(c.request('subscribe', { channel: 'team:7' }), (e) => e instanceof RealtimeError && e.code === 'forbidden' && /team:7/.test(e.message));
        assert.deepEqual(await c.request('ping', {}), {}, 'the connection stays usable');
      });

      test('ping answers {}', async () => {
        assert.deepEqual(await (await connected('pinger')).ping(), {});
      });

      test('close() ends the connection for good: pending and later requests reject with closed', async () => {
        const c = await connected('leaver');
        await c.subscribe('chat:close');
        const states = [];
        c.on('state', (s) => states.push(s));
        c.close();
        assert.equal(c.state, 'disconnected');
        assert.deepEqual(states, ['disconnected']);
        await assert.rejects(c.publish('chat:close', 1), (e) => e.code === 'closed');
        await waitFor(async () => (await server.api('GET', '/api/channels/chat:close/presence')).users === 0, { message: 'presence to empty' });
        await sleep(300);
        assert.equal(c.state, 'disconnected', 'no reconnect after close()');
      });

      test('a request without a reply rejects with timeout (fake server that answers only connect)', async () => {
        FakeSocket.reset();
        const c = new RealtimeClient('ws://fake/ws', { WebSocket: FakeSocket, protocol, token: 't', requestTimeout: 200, trackUnread: false, pingInterval: 0 });
        FakeSocket.onCommand = (socket, command) => command.type === 'connect' && socket.reply(command.id, { client: 'c', user: 'u', node: 'n' });
        await c.connect();
        await assert.rejects(c.publish('chat:x', 1), (e) => e instanceof RealtimeError && e.code === 'timeout');
        c.close();
      });

      test('an unsubscribed push ends the subscription: the event fires, its messages stop, and it can be subscribed again (fake server)', async () => {
        // A real node sends it only when a channel cannot refill a gap in its deliveries (an engine failure).
        FakeSocket.reset();
        const subscribes = [];
        FakeSocket.onCommand = (socket, command) => {
          if (command.type === 'connect') socket.reply(command.id, { client: 'c', user: 'u', node: 'n' });
          if (command.type === 'subscribe') {
            subscribes.push(command);
            socket.reply(command.id, { channel: 'chat:evict', epoch: 'e1', offset: 3, recovered: true, messages: [] });
          }
        };
        const c = new RealtimeClient('ws://fake/ws', { WebSocket: FakeSocket, protocol, token: 't', trackUnread: false, pingInterval: 0 });
        await c.connect();
        const got = [];
        await c.subscribe('chat:evict', { onMessage: (m) => got.push(m.offset) });
        const unsubscribed = nextEvent(c, 'unsubscribed');
        const push = { type: 'unsubscribed', channel: 'chat:evict', reason: 'messages were lost from history' };
        FakeSocket.last.push(push);
        assert.deepEqual(await unsubscribed, { ...push, since: { epoch: 'e1', offset: 3 } }, 'says where the app left off');
        FakeSocket.last.push({ type: 'message', channel: 'chat:evict', epoch: 'e1', offset: 4, from: null, data: {}, ts: '' });
        await sleep(10);
        assert.deepEqual(got, [], 'no delivery after the subscription ended');
        assert.equal(c.position('chat:evict'), null);
        assert.equal((await c.subscribe('chat:evict', { since: { epoch: 'e1', offset: 3 } })).channel, 'chat:evict', 'not refused as a second subscription');
        assert.equal(subscribes.length, 2);
        assert.deepEqual(subscribes[1].since, { epoch: 'e1', offset: 3 });
        c.close();
      });

      test('repeated or stale message offsets are dropped, and a new epoch is followed (fake server)', async () => {
        FakeSocket.reset();
        const c = new RealtimeClient('ws://fake/ws', { WebSocket: FakeSocket, protocol, token: 't', trackUnread: false, pingInterval: 0 });
        FakeSocket.onCommand = (socket, command) => {
          if (command.type === 'connect') socket.reply(command.id, { client: 'c', user: 'u', node: 'n' });
          if (command.type === 'subscribe') socket.reply(command.id, { channel: 'chat:d', epoch: 'e1', offset: 1, recovered: true, messages: [] });
        };
        await c.connect();
        const got = [];
        await c.subscribe('chat:d', { onMessage: (m) => got.push(`${m.epoch}/${m.offset}`) });
        const socket = FakeSocket.last;
        for (const [epoch, offset] of [['e1', 1], ['e1', 2], ['e1', 2], ['e1', 3], ['e1', 2], ['e2', 1], ['e2', 1], ['e2', 2]]) {
          socket.push({ type: 'message', channel: 'chat:d', epoch, offset, from: null, data: {}, ts: '' });
        }
        await sleep(10);
        assert.deepEqual(got, ['e1/2', 'e1/3', 'e2/1', 'e2/2']);
        c.close();
      });
    });
  });
}
