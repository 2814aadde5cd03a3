// The demo page in Debian's Chromium, driven headless by playwright-core: two people chat, see each
// other, get a notification, lose their sockets without losing a message, and switch to MessagePack.
// Also the client itself in a page, over MessagePack with the vendored browser build as its codec.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { RealtimeClient } from '../src/realtime.js';
import { TcpProxy, TestServer, mintToken, waitFor } from './helpers/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VENDORED_MSGPACK = '/vendor/msgpack/msgpack.min.js';
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server;
let proxy; // the pages load through it, so their sockets can be cut
let browser;
const pages = {};
const pageErrors = [];

before(async () => {
  server = await TestServer.start();
  proxy = await new TcpProxy(server.port).start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await server?.stop();
});

async function signIn(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  await page.goto(`${proxy.url}/`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#connection[data-state="connected"]').waitFor();
  await page.locator(`#presence li[data-user="${name}"]`).waitFor();
  pages[name] = page;
  return page;
}

const texts = (page) => page.locator('#messages li.message .text').allTextContents();
const publish = (text) => server.api('POST', '/api/channels/chat:lobby/messages', { data: { text } });

test('the server serves the page and the client module it imports', async () => {
  const html = await (await fetch(`${server.url}/`)).text();
  assert.match(html, /<title>Realtime demo<\/title>/);
  const served = await fetch(`${server.url}/realtime.js`);
  assert.match(served.headers.get('content-type'), /javascript/);
  assert.equal(await served.text(), readFileSync(path.join(HERE, '../src/realtime.js'), 'utf8'));
  // The page's MessagePack codec is the browser build of the @msgpack/msgpack the tests use (package-lock.json).
  const vendored = await fetch(server.url + VENDORED_MSGPACK);
  assert.match(vendored.headers.get('content-type'), /javascript/);
  const installed = new URL('../node_modules/@msgpack/msgpack/dist.umd/msgpack.min.js', import.meta.url);
  assert.equal(await vendored.text(), readFileSync(installed, 'utf8'), `${VENDORED_MSGPACK} is @msgpack/msgpack's dist.umd/msgpack.min.js`);
});

test('in a page, the client speaks MessagePack with the vendored build as its codec, beside a JSON client in Node', async () => {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => pageErrors.push(`msgpack page: ${error.message}`));
  await page.goto(`${server.url}/`);
  const info = await page.evaluate(async ({ token, codecUrl }) => {
    const { RealtimeClient } = await import('/realtime.js');
    await new Promise((resolve, reject) => document.head.append(Object.assign(document.createElement('script'), { src: codecUrl, onload: resolve, onerror: reject })));
    // The browser's WebSocket, recording whether each frame is binary.
    const frames = { sent: [], received: [] };
    class Recording extends WebSocket {
      constructor(...args) {
        super(...args);
        frames.socket = this;
        this.addEventListener('message', (event) => frames.received.push(event.data instanceof ArrayBuffer));
      }

      send(data) {
        frames.sent.push(ArrayBuffer.isView(data));
        super.send(data);
      }
    }
    const client = new RealtimeClient(new URL('/ws', location.href), { token, protocol: 'msgpack', codec: globalThis.MessagePack, WebSocket: Recording });
    const messages = [];
    Object.assign(globalThis, { client, frames, messages });
    const connected = await client.connect();
    await client.subscribe('chat:browser', { onMessage: (m) => messages.push(m) });
    return connected;
  }, { token: mintToken('pia'), codecUrl: VENDORED_MSGPACK });
  assert.equal(info.user, 'pia');

  const node = new RealtimeClient(server.wsUrl, { WebSocket, token: mintToken('noah') });
  try {
    await node.connect();
    const seen = [];
    await node.subscribe('chat:browser', { onMessage: (m) => seen.push(m) });
    const fromPage = { text: 'from Chromium 😀', n: [1, -2, 2.5, 2 ** 40], ok: true, none: null };
    const fromNode = { text: 'from Node', nested: { deep: [{ x: 1 }] } };
    await page.evaluate((data) => globalThis.client.publish('chat:browser', data), fromPage);
    await node.publish('chat:browser', fromNode);

    await page.waitForFunction(() => globalThis.messages.length === 2);
    await waitFor(() => seen.length === 2, { message: 'both messages in Node' });
    const inPage = await page.evaluate(() => globalThis.messages);
    assert.deepEqual(inPage, seen);
    assert.deepEqual(seen.map((m) => [m.from, m.data]), [['pia', fromPage], ['noah', fromNode]]);
    const frames = await page.evaluate(() => ({ protocol: globalThis.frames.socket.protocol, sent: globalThis.frames.sent, received: globalThis.frames.received }));
    assert.equal(frames.protocol, 'realtime.msgpack');
    assert.ok(frames.sent.length >= 3 && frames.sent.every(Boolean), 'every command a binary frame');
    assert.ok(frames.received.length >= 5 && frames.received.every(Boolean), 'every reply and push a binary frame');
  } finally {
    node.close();
    await page.evaluate(() => globalThis.client.close());
    await page.context().close();
  }
});

test('joining a room loads its history', async () => {
  await publish('before anyone came');
  await publish('still nobody here');
  const alice = await signIn('alice');
  await waitFor(async () => (await texts(alice)).length === 2, { message: 'two messages from history' });
  assert.deepEqual(await texts(alice), ['before anyone came', 'still nobody here']);
});

test('two people chat both ways and each sees the other in the room', async () => {
  const alice = pages.alice;
  const bob = await signIn('bob');
  await alice.locator('#presence li[data-user="bob"]').waitFor();
  await bob.locator('#presence li[data-user="alice"]').waitFor();

  await alice.getByLabel('Message').fill('Hi Bob!');
  await alice.getByRole('button', { name: 'Send' }).click();
  await bob.getByText('Hi Bob!').waitFor();
  await bob.getByLabel('Message').fill('Hey Alice, good to see you.');
  await bob.keyboard.press('Enter');
  await alice.getByText('Hey Alice, good to see you.').waitFor();

  for (const page of [alice, bob]) {
    // Each page shows a message when its push arrives: bob's own may come a moment after alice saw it.
    await waitFor(async () => (await texts(page)).at(-1) === 'Hey Alice, good to see you.', { message: 'the last message on both pages' });
    assert.deepEqual((await texts(page)).slice(-2), ['Hi Bob!', 'Hey Alice, good to see you.']);
    assert.deepEqual(await page.locator('#presence li').evaluateAll((items) => items.map((li) => li.dataset.user)), ['alice', 'bob']);
  }
  assert.equal(await alice.locator('#messages li.mine .text').last().textContent(), 'Hi Bob!');
});

test('a notification sent over REST reaches only its user, with the unread badge; marking it read clears the badge', async () => {
  const { alice, bob } = pages;
  await server.api('POST', '/api/users/bob/notifications', { data: { title: 'Your order has shipped', body: 'Arrives Tuesday' } });
  await bob.locator('#badge[data-count="1"]').waitFor();
  await bob.locator('#notifications li.unread', { hasText: 'Your order has shipped' }).waitFor();
  assert.equal(await alice.locator('#badge').textContent(), '0');
  assert.equal(await alice.locator('#notifications li.unread').count(), 0);

  mkdirSync(ARTIFACTS, { recursive: true });
  await bob.screenshot({ path: path.join(ARTIFACTS, 'chat.png'), fullPage: true });

  await bob.getByRole('button', { name: 'Mark read' }).click();
  await bob.locator('#badge[data-count="0"]').waitFor();
  assert.equal(await bob.locator('#notifications li.unread').count(), 0);
});

test('after the sockets are cut, the pages reconnect and show the messages published meanwhile, once each', async () => {
  const { alice, bob } = pages;
  proxy.cut();
  for (const page of [alice, bob]) await page.locator('#connection[data-state="reconnecting"]').waitFor();
  const missed = Array.from({ length: 20 }, (_, i) => `missed ${i + 1}`);
  for (const text of missed) await publish(text);
  proxy.resume();

  for (const page of [alice, bob]) {
    await page.locator('#connection[data-recovered="true"]').waitFor({ timeout: 20_000 });
    assert.match(await page.locator('#connection').textContent(), /nothing missed/);
    await waitFor(async () => (await texts(page)).includes('missed 20'), { message: 'the last missed message' });
    const shown = (await texts(page)).filter((t) => t.startsWith('missed '));
    assert.deepEqual(shown, missed);
  }
  await alice.screenshot({ path: path.join(ARTIFACTS, 'recovered.png') });

  await alice.getByLabel('Message').fill('still here');
  await alice.keyboard.press('Enter');
  await bob.getByText('still here').waitFor();
});

test('switching a page to MessagePack reconnects it over binary frames, keeps its room, and the chat flows both ways', async () => {
  const { alice, bob } = pages;
  assert.equal(await alice.locator('#connection').getAttribute('data-protocol'), 'json');
  const socket = alice.waitForEvent('websocket');
  await alice.getByLabel('Frames').selectOption('msgpack');
  const frames = [];
  (await socket).on('framesent', (frame) => frames.push(frame.payload)).on('framereceived', (frame) => frames.push(frame.payload));
  await alice.locator('#connection[data-state="connected"][data-protocol="msgpack"]').waitFor();
  assert.match(await alice.locator('#connection').textContent(), /MessagePack/);
  await alice.locator('#presence li[data-user="bob"]').waitFor();
  await alice.screenshot({ path: path.join(ARTIFACTS, 'msgpack.png') });

  await bob.getByLabel('Message').fill('sent over JSON');
  await bob.keyboard.press('Enter');
  await alice.getByText('sent over JSON').waitFor();
  await alice.getByLabel('Message').fill('sent over MessagePack');
  await alice.keyboard.press('Enter');
  await bob.getByText('sent over MessagePack').waitFor();
  // alice's page shows her own message when its push comes back, which may be a moment after bob's showed it.
  await waitFor(async () => (await texts(alice)).at(-1) === 'sent over MessagePack', { message: "alice's own message on her page" });

  const shown = await texts(alice);
  assert.deepEqual(shown.slice(-3), ['still here', 'sent over JSON', 'sent over MessagePack'], 'the room kept what it showed, once each');
  assert.equal(new Set(shown).size, shown.length);
  assert.ok(frames.length > 0 && frames.every((payload) => Buffer.isBuffer(payload)), 'only binary frames on the new socket');
  assert.equal(await bob.locator('#connection').getAttribute('data-protocol'), 'json');
});

test('closing a tab removes its user from the others\' presence list', async () => {
  await pages.bob.context().close();
  await pages.alice.locator('#presence li[data-user="bob"]').waitFor({ state: 'detached' });
  assert.deepEqual(pageErrors, []);
});
