// JSON and MessagePack clients side by side on one node: the frames each sends and receives, a room
// where both see the same messages with the same data, what JSON.stringify changes in data, integers
// past 2^53, a codec given in the options, and a client that cannot find @msgpack/msgpack.
// (client.test.js and reconnect.test.js run every behaviour of the client over both protocols.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, afterEach, before, test } from 'node:test';
import * as msgpack from '@msgpack/msgpack';
import WebSocket from 'ws';
import { RealtimeClient } from '../src/realtime.js';
import { TestServer, mintToken, waitFor } from './helpers/server.js';

let server;
const clients = [];

before(async () => { server = await TestServer.start(); });
afterEach(() => clients.splice(0).forEach((c) => c.close()));
after(async () => { await server?.stop(); });

async function connected(user, protocol, options = {}) {
  const c = new RealtimeClient(server.wsUrl, { WebSocket, protocol, token: mintToken(user), ...options });
  clients.push(c);
  await c.connect();
  return c;
}

// A `ws` WebSocket that keeps what goes through it: the frames sent and received, as the socket has them.
function recording(frames) {
  return class extends WebSocket {
    constructor(...args) {
      super(...args);
      frames.socket = this;
      this.addEventListener('message', (event) => frames.received.push(event.data));
    }

    send(data) {
      frames.sent.push(data);
      super.send(data);
    }
  };
}

/** Subscribes each client to `channel`; returns the messages each receives, by user. */
async function listening(channel, ...members) {
  const seen = {};
  for (const c of members) {
    seen[c.info.user] = [];
    await c.subscribe(channel, { onMessage: (m) => seen[c.info.user].push(m) });
  }
  return seen;
}

test('a MessagePack client asks for realtime.msgpack and its frames are binary both ways; a JSON client asks for no subprotocol and sends text', async () => {
  const [binary, text] = [{ sent: [], received: [] }, { sent: [], received: [] }];
  const mia = await connected('mia', 'msgpack', { WebSocket: recording(binary) });
  const jay = await connected('jay', 'json', { WebSocket: recording(text) });
  const seen = await listening('chat:frames', mia, jay);
  await mia.publish('chat:frames', { text: 'binary' });
  await jay.publish('chat:frames', { text: 'text' });
  await waitFor(() => seen.mia.length === 2 && seen.jay.length === 2, { message: 'both messages on both clients' });

  assert.equal(binary.socket.protocol, 'realtime.msgpack');
  assert.ok(binary.sent.every((data) => data instanceof Uint8Array), 'every command a binary frame');
  assert.ok(binary.received.every((data) => data instanceof ArrayBuffer), 'every reply and push a binary frame');
  const connect = msgpack.decode(binary.sent[0]);
  assert.deepEqual([connect.id, connect.type, typeof connect.token], [1, 'connect', 'string']);
  const pushes = binary.received.map((data) => msgpack.decode(new Uint8Array(data))).filter((frame) => frame.type === 'message');
  assert.deepEqual(pushes.map((m) => [m.from, m.data.text]), [['mia', 'binary'], ['jay', 'text']]);

  assert.equal(text.socket.protocol, '');
  assert.ok(text.sent.every((data) => typeof data === 'string') && text.received.every((data) => typeof data === 'string'));
  assert.equal(JSON.parse(text.sent[0]).type, 'connect');
});

test('in a room with a JSON and a MessagePack client, both see the same messages in the same order, and data published by each arrives equal at the other', async () => {
  const jay = await connected('jay', 'json');
  const mia = await connected('mia', 'msgpack');
  const seen = await listening('chat:mixed', jay, mia);
  const values = [
    { text: 'hé "quoted" 😀 \\ \u0000 end', ints: [0, 1, -1, 127, 128, -32, -33, 255, 256, 65_535, 65_536, 2 ** 32, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER] },
    { floats: [2.5, -0.125, 1e-7, 3.14159, 1.7976931348623157e308, Number.MIN_VALUE], ok: true, no: false, none: null },
    { nested: { deep: [{ x: 1 }, [], {}, [[null]], { '': 'empty key' }] } },
    'a plain string',
    42,
    Array.from({ length: 40 }, (_, i) => i * 1.5),
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'ü'.repeat(i * 20)])),
    { long: 'ö'.repeat(20_000) },
    [true, false, null, 'mixed', 7, { a: [] }],
  ];
  const publishers = [(data) => jay.publish('chat:mixed', data), (data) => mia.publish('chat:mixed', data), (data) => server.api('POST', '/api/channels/chat:mixed/messages', { data })];
  for (const [i, data] of values.entries()) await publishers[i % 3](data);

  await waitFor(() => seen.jay.length === values.length && seen.mia.length === values.length, { message: `${values.length} messages on both clients` });
  assert.deepEqual(seen.mia, seen.jay, 'the same messages, whole: channel, epoch, offset, from, data, ts');
  assert.deepEqual(seen.jay.map((m) => m.offset), values.map((_, i) => i + 1));
  assert.deepEqual(seen.jay.map((m) => m.from), values.map((_, i) => ['jay', 'mia', null][i % 3]));
  assert.deepEqual(seen.mia.map((m) => m.data), values);
  assert.deepEqual((await mia.history('chat:mixed')).messages, (await jay.history('chat:mixed')).messages);
});

test('what JSON.stringify changes in data the MessagePack client changes alike: toJSON (a Date), undefined fields, NaN and Infinity', async () => {
  const jay = await connected('jay', 'json');
  const mia = await connected('mia', 'msgpack');
  const seen = await listening('chat:stringify', jay, mia);
  const data = { at: new Date(0), gone: undefined, nan: NaN, inf: -Infinity, list: [undefined, 1], own: { toJSON: () => 'custom' } };
  await mia.publish('chat:stringify', data);
  await jay.publish('chat:stringify', data);

  await waitFor(() => seen.jay.length === 2 && seen.mia.length === 2, { message: 'both messages on both clients' });
  const expected = { at: '1970-01-01T00:00:00.000Z', nan: null, inf: null, list: [null, 1], own: 'custom' };
  for (const messages of [seen.jay, seen.mia]) assert.deepEqual(messages.map((m) => m.data), [expected, expected]);
});

test('integers past 2^53 reach a MessagePack client as the same numbers JSON.parse gives, not as BigInt', async () => {
  const jay = await connected('jay', 'json');
  const mia = await connected('mia', 'msgpack');
  const seen = await listening('chat:big', jay, mia);
  const body = '{"data":{"max":9223372036854775807,"min":-9223372036854775808,"past53":9007199254740993}}';
  const response = await fetch(`${server.url}/api/channels/chat:big/messages`, { method: 'POST', headers: { 'X-Api-Key': 'dev-api-key', 'Content-Type': 'application/json' }, body });
  assert.ok(response.ok, `${response.status}`);

  await waitFor(() => seen.jay.length === 1 && seen.mia.length === 1, { message: 'the message on both clients' });
  assert.deepEqual(seen.mia[0].data, JSON.parse(body).data);
  assert.deepEqual(seen.mia[0].data, seen.jay[0].data);
  assert.ok(Object.values(seen.mia[0].data).every((n) => typeof n === 'number'));
});

test('a codec given in the options encodes every command and decodes every frame', async () => {
  const calls = { encode: 0, decode: 0 };
  const codec = {
    encode: (value) => { calls.encode++; return msgpack.encode(value); },
    decode: (bytes) => { calls.decode++; return msgpack.decode(bytes); },
  };
  const mia = await connected('mia', 'msgpack', { codec, trackUnread: false });
  const got = [];
  await mia.subscribe('chat:codec', { onMessage: (m) => got.push(m.data) });
  await mia.publish('chat:codec', { n: 1 });
  await waitFor(() => got.length === 1, { message: 'the message' });
  assert.deepEqual(got, [{ n: 1 }]);
  assert.deepEqual(calls, { encode: 3, decode: 4 }, 'connect, subscribe, publish; their replies and the message');
});

test('the constructor refuses an unknown protocol and a codec without encode and decode', () => {
  const options = { WebSocket, token: 't' };
  assert.throws(() => new RealtimeClient(server.wsUrl, { ...options, protocol: 'cbor' }), /'json' or 'msgpack'/);
  assert.throws(() => new RealtimeClient(server.wsUrl, { ...options, protocol: 'msgpack', codec: { encode: msgpack.encode } }), /encode\(value\) and decode\(bytes\)/);
});

test('where @msgpack/msgpack cannot be found, a JSON client works, and a MessagePack client without a codec fails to connect with an error that says what to do', async () => {
  // A copy of the client in a folder with no node_modules, driven by a script in its own process.
  const folder = mkdtempSync(path.join(tmpdir(), 'realtime-client-'));
  try {
    copyFileSync(new URL('../src/realtime.js', import.meta.url), path.join(folder, 'realtime.js'));
    writeFileSync(path.join(folder, 'package.json'), '{ "type": "module" }');
    writeFileSync(path.join(folder, 'run.js'), `
      import { RealtimeClient } from './realtime.js';
      import WebSocket from ${JSON.stringify(import.meta.resolve('ws'))};
      const [url, token] = process.argv.slice(2);
      const opened = [];
      class Counted extends WebSocket { constructor(...args) { super(...args); opened.push(args[1] ?? null); } }
      const json = new RealtimeClient(url, { WebSocket: Counted, token });
      const user = (await json.connect()).user;
      json.close();
      const binary = new RealtimeClient(url, { WebSocket: Counted, token, protocol: 'msgpack' });
      const failure = await binary.connect().then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message }));
      console.log(JSON.stringify({ user, failure, state: binary.state, opened }));
    `);
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(folder, 'run.js'), server.wsUrl, mintToken('nomad')], { timeout: 30_000 });
    const { user, failure, state, opened } = JSON.parse(stdout);
    assert.equal(user, 'nomad');
    assert.deepEqual([failure.name, failure.code], ['RealtimeError', 'closed']);
    assert.match(failure.message, /protocol 'msgpack' needs a MessagePack codec: install @msgpack\/msgpack, or pass options\.codec/);
    assert.equal(state, 'disconnected');
    assert.deepEqual(opened, [null], 'the MessagePack client opened no socket');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
