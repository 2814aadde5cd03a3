// The demo page: sign in with a development token, chat in rooms, see who is here, get notifications.
// Everything goes through the JS client (clients/js/src/realtime.js, served as /realtime.js), over JSON
// or MessagePack frames as the switch in the header says.
import { RealtimeClient } from './realtime.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_ROOM = 'lobby';
const NAME_KEY = 'realtime-demo-name';
const PROTOCOL_KEY = 'realtime-demo-protocol';
const PROTOCOLS = { json: 'JSON', msgpack: 'MessagePack' };

let client = null;
let signedInAs = null; // the name development tokens are asked for
let protocol = 'json'; // the frames `client` speaks
let current = null; // the channel shown in the chat
const rooms = new Map(); // channel → { channel, epoch, messages: Map(offset → message), presence: Map(client → user) }
const inbox = []; // notifications and direct messages, newest first

const channelOf = (name) => (name.includes(':') ? name : `chat:${name}`);
const roomLabel = (channel) => (channel.startsWith('chat:') ? channel.slice(5) : channel);
const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const describe = (data) => (typeof data === 'string' ? data : data?.text ?? data?.title ?? JSON.stringify(data));

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

// ---- signing in and out ----

$('name').value = localStorage.getItem(NAME_KEY) ?? '';
$('protocol').value = localStorage.getItem(PROTOCOL_KEY) in PROTOCOLS ? localStorage.getItem(PROTOCOL_KEY) : 'json';

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  $('sign-in-error').textContent = '';
  try {
    await signIn(name);
  } catch (error) {
    client?.close();
    client = null;
    $('sign-in-error').textContent = `Could not sign in: ${error.message}`;
  }
});

$('sign-out').addEventListener('click', () => {
  client?.close();
  client = null;
  signedInAs = null;
  rooms.clear();
  inbox.length = 0;
  current = null;
  $('app').hidden = true;
  $('whoami').hidden = true;
  $('sign-in').hidden = false;
  setConnection('disconnected', 'Not connected');
});

async function devToken(user) {
  const response = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (response.status === 404) throw new Error('this server does not issue development tokens (Realtime:Auth:DevTokens is off)');
  if (!response.ok) throw new Error(`POST /dev/token answered ${response.status}`);
  return (await response.json()).token;
}

async function signIn(name) {
  const info = await connectAs(name);
  signedInAs = name;
  localStorage.setItem(NAME_KEY, name);
  $('me').textContent = info.user;
  $('whoami').hidden = false;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  renderCurl();
  await Promise.all([loadInbox(), join(DEFAULT_ROOM)]);
  $('message').focus();
}

// A client for `name` that speaks the protocol the switch shows; resolves once it is connected.
async function connectAs(name) {
  protocol = $('protocol').value;
  client = new RealtimeClient(new URL('/ws', location.href), {
    getToken: () => devToken(name),
    protocol,
    // No bundler here: the codec is the browser build of @msgpack/msgpack, fetched the first time it is needed.
    codec: protocol === 'msgpack' ? await messagePack() : undefined,
  });
  listen(client);
  // The client retries a failing getToken with backoff; while signing in, show the failure instead.
  const tokenFailed = new Promise((_, reject) => client.on('error', reject));
  return Promise.race([client.connect(), tokenFailed]);
}

let messagePackLoaded = null;
function messagePack() {
  messagePackLoaded ??= new Promise((resolve, reject) => {
    document.head.append(element('script', {
      src: 'vendor/msgpack/msgpack.min.js', // defines the global MessagePack, whose encode and decode are a codec
      onload: () => resolve(globalThis.MessagePack),
      onerror: () => {
        messagePackLoaded = null;
        reject(new Error('vendor/msgpack/msgpack.min.js did not load'));
      },
    }));
  });
  return messagePackLoaded;
}

// ---- switching protocol ----

$('protocol').addEventListener('change', async () => {
  localStorage.setItem(PROTOCOL_KEY, $('protocol').value);
  if (!signedInAs) return; // the next sign-in uses it
  $('protocol').disabled = true;
  try {
    await reconnect();
  } catch (error) {
    notice(`Could not switch to ${PROTOCOLS[$('protocol').value]}: ${error.message}`);
  } finally {
    $('protocol').disabled = false;
  }
});

// A new client with the chosen protocol in place of the old one. Each joined room resumes where the old
// client left off, so what was published during the switch is replayed, and nothing is shown twice.
async function reconnect() {
  const old = client;
  const joined = [...rooms.values()].filter((room) => room.joined);
  const positions = new Map(joined.map((room) => [room.channel, old.position(room.channel)]));
  old.close();
  await connectAs(signedInAs);
  await Promise.all([loadInbox(), ...joined.map(async (room) => {
    const since = positions.get(room.channel);
    const { recovered } = await client.subscribe(room.channel, since ? { since } : {});
    if (!recovered) await reloadRoom(room);
    await refreshPresence(room);
  })]);
}

// ---- client events ----

function listen(c) {
  let retry = '';
  let recovery = null; // {lost: channels that could not be recovered} while resubscribing after a reconnect
  c.on('close', (e) => {
    retry = e.reconnect ? ` (retrying in ${(e.delay / 1000).toFixed(1)} s)` : '';
    if (!e.reconnect) setConnection('disconnected', `Disconnected${e.reason ? `: ${e.reason}` : ''}`);
  });
  c.on('state', (state) => {
    if (state === 'connecting') setConnection(state, 'Connecting…');
    if (state === 'reconnecting') setConnection(state, `Reconnecting…${retry}`);
    if (state === 'connected') setConnection(state, 'Connected');
  });
  c.on('connected', ({ reconnected }) => {
    if (!reconnected) return;
    recovery = { waiting: new Set(rooms.keys()), lost: [] };
    setConnection('connected', rooms.size ? 'Reconnected, catching up…' : 'Reconnected');
    loadInbox();
  });
  c.on('subscribed', ({ channel, recovered, resubscribed }) => {
    const room = rooms.get(channel);
    if (!room || !resubscribed) return;
    refreshPresence(room); // joins and leaves while away were missed
    if (!recovered) reloadRoom(room);
    if (!recovery) return;
    recovery.waiting.delete(channel);
    if (!recovered) recovery.lost.push(roomLabel(channel));
    if (recovery.waiting.size === 0) {
      const lost = recovery.lost;
      setConnection('connected', lost.length ? `Reconnected: history reloaded in ${lost.join(', ')}` : 'Reconnected: nothing missed', lost.length === 0);
      recovery = null;
    }
  });
  c.on('unsubscribed', ({ channel, since }) => {
    // The node ended the room's subscription (it could not deliver it in order): pick up where the
    // room left off. A refused rejoin also ends in this event, so only one attempt is made.
    // A first subscribe that is refused ends here too; join() handles that one.
    const room = rooms.get(channel);
    if (!room?.joined || room.rejoining) return;
    room.rejoining = true;
    client.subscribe(channel, since ? { since } : {}).then(({ recovered }) => {
      room.rejoining = false;
      if (!recovered) reloadRoom(room);
    }, (error) => {
      notice(`Left ${roomLabel(channel)}: ${error.message}`);
      dropRoom(channel);
    });
  });
  c.on('message', (message) => {
    const room = rooms.get(message.channel);
    if (room) addMessage(room, message);
  });
  c.on('join', ({ channel, client: id, user }) => changePresence(channel, id, user));
  c.on('leave', ({ channel, client: id }) => changePresence(channel, id, null));
  c.on('notification', (n) => {
    inbox.unshift({ ...n, kind: 'notification', read: false });
    renderInbox();
  });
  c.on('direct', (d) => {
    inbox.unshift({ ...d, kind: 'direct', id: `direct-${Date.now()}-${Math.random()}` });
    renderInbox();
  });
  c.on('unread', (count) => {
    $('badge').textContent = String(count);
    $('badge').dataset.count = String(count);
    $('badge').setAttribute('aria-label', `${count} unread`);
  });
}

function setConnection(state, text, recovered) {
  const indicator = $('connection');
  indicator.dataset.state = state;
  if (recovered === undefined) delete indicator.dataset.recovered;
  else indicator.dataset.recovered = String(recovered);
  // A live connection says which frames it carries.
  if (state === 'connected') indicator.dataset.protocol = protocol;
  else delete indicator.dataset.protocol;
  indicator.textContent = state === 'connected' ? `${text} · ${PROTOCOLS[protocol]}` : text;
}

// ---- rooms and chat ----

$('join-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('room-name').value.trim();
  $('room-name').value = '';
  try {
    await join(name);
  } catch (error) {
    notice(`Could not join ${name}: ${error.message}`);
  }
});

$('leave').addEventListener('click', async () => {
  if (!current || rooms.size < 2) return;
  const channel = current;
  rooms.delete(channel);
  await client.unsubscribe(channel);
  show(rooms.keys().next().value);
});

$('message-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('message');
  const text = input.value.trim();
  if (!text || !current) return;
  input.value = '';
  try {
    await client.publish(current, { text });
  } catch (error) {
    input.value = text;
    notice(`Not sent: ${error.message}`);
  }
});

// History first, then subscribe from where it ended: the client replays anything published in between.
async function join(name) {
  const channel = channelOf(name);
  if (rooms.has(channel)) return show(channel);
  const room = { channel, epoch: null, messages: new Map(), presence: new Map() };
  rooms.set(channel, room);
  show(channel);
  try {
    const history = await client.history(channel, { limit: 50 });
    history.messages.forEach((m) => addMessage(room, m));
    await client.subscribe(channel, { since: { epoch: history.epoch, offset: history.offset } });
    room.joined = true;
  } catch (error) {
    rooms.delete(channel);
    if (rooms.size) show(rooms.keys().next().value);
    throw error;
  }
  await refreshPresence(room);
}

async function reloadRoom(room) {
  if (room.channel === current) notice('Some messages could not be recovered; history reloaded.');
  const history = await client.history(room.channel, { limit: 50 });
  history.messages.forEach((m) => addMessage(room, m));
}

function addMessage(room, message) {
  if (room.epoch !== message.epoch) {
    room.messages.clear(); // a new epoch: the channel's history started again
    room.epoch = message.epoch;
    if (room.channel === current) renderMessages();
  }
  if (room.messages.has(message.offset)) return;
  const last = Math.max(0, ...room.messages.keys());
  room.messages.set(message.offset, message);
  if (room.channel !== current) return renderRooms();
  if (message.offset > last) appendMessage(message);
  else renderMessages();
}

// The client no longer holds the room's subscription: take the room off the page.
function dropRoom(channel) {
  rooms.delete(channel);
  show(channel === current && rooms.size ? rooms.keys().next().value : current);
}

function show(channel) {
  current = channel;
  const room = rooms.get(channel);
  if (room) room.seen = room.messages.size;
  $('chat-title').textContent = `#${roomLabel(channel)}`;
  $('leave').hidden = rooms.size < 2;
  renderRooms();
  renderMessages();
  renderPresence();
  renderCurl();
}

function renderRooms() {
  const list = $('room-list');
  list.replaceChildren(...[...rooms.values()].map((room) => {
    const fresh = room.channel === current ? 0 : room.messages.size - (room.seen ?? 0);
    return element('li', {},
      element('button', {
        type: 'button',
        class: 'room',
        'aria-current': room.channel === current ? 'true' : 'false',
        onclick: () => show(room.channel),
      }, `#${roomLabel(room.channel)}`, fresh > 0 ? element('span', { class: 'count', 'aria-label': `${fresh} new` }, String(fresh)) : null));
  }));
}

function renderMessages() {
  const room = rooms.get(current);
  const messages = room ? [...room.messages.values()].sort((a, b) => a.offset - b.offset) : [];
  $('messages').replaceChildren();
  messages.forEach(appendMessage);
  if (room) room.seen = room.messages.size;
}

function appendMessage(message) {
  const mine = message.from === client?.info?.user;
  const from = message.from ?? 'backend';
  const log = $('messages');
  log.append(element('li', { class: `message${mine ? ' mine' : ''}${message.from ? '' : ' system'}`, 'data-offset': message.offset },
    element('span', { class: 'from' }, mine ? `${from} (you)` : from),
    element('time', { datetime: message.ts }, time(message.ts)),
    element('p', { class: 'text' }, describe(message.data))));
  log.scrollTop = log.scrollHeight;
  const room = rooms.get(current);
  if (room) room.seen = room.messages.size;
}

function notice(text) {
  $('messages').append(element('li', { class: 'notice' }, text));
}

// ---- presence ----

async function refreshPresence(room) {
  const { clients } = await client.presence(room.channel).catch(() => ({ clients: [] }));
  room.presence = new Map(clients.map((c) => [c.client, c.user]));
  if (room.channel === current) renderPresence();
}

function changePresence(channel, id, user) {
  const room = rooms.get(channel);
  if (!room) return;
  if (user) room.presence.set(id, user);
  else room.presence.delete(id);
  if (channel === current) renderPresence();
}

function renderPresence() {
  const tabs = new Map();
  for (const user of rooms.get(current)?.presence.values() ?? []) tabs.set(user, (tabs.get(user) ?? 0) + 1);
  const me = client?.info?.user;
  $('presence-count').textContent = `(${tabs.size})`;
  $('presence').replaceChildren(...[...tabs.keys()].sort().map((user) =>
    element('li', { 'data-user': user },
      element('span', { class: 'dot', 'aria-hidden': 'true' }),
      user === me ? `${user} (you)` : user,
      tabs.get(user) > 1 ? element('span', { class: 'muted' }, ` · ${tabs.get(user)} tabs`) : null)));
}

// ---- notifications ----

async function loadInbox() {
  const { items } = await client.notifications({ limit: 20 });
  const directs = inbox.filter((i) => i.kind === 'direct');
  inbox.length = 0;
  inbox.push(...[...directs, ...items.map((i) => ({ ...i, kind: 'notification' }))].sort((a, b) => b.ts.localeCompare(a.ts)));
  renderInbox();
}

async function markRead(ids) {
  if (!ids.length) return;
  await client.read(ids);
  for (const item of inbox) if (ids.includes(item.id)) item.read = true;
  renderInbox();
}

$('read-all').addEventListener('click', () =>
  markRead(inbox.filter((i) => i.kind === 'notification' && !i.read).map((i) => i.id)));

function renderInbox() {
  const list = $('notifications');
  if (!inbox.length) return list.replaceChildren(element('li', { class: 'muted empty' }, 'Nothing yet.'));
  list.replaceChildren(...inbox.map((item) => {
    const direct = item.kind === 'direct';
    const unread = !direct && !item.read;
    return element('li', { class: `note${unread ? ' unread' : ''}${direct ? ' direct' : ''}`, 'data-id': item.id },
      element('p', { class: 'title' }, direct ? `Direct from ${item.from ?? 'backend'}: ${describe(item.data)}` : describe(item.data)),
      item.data?.body ? element('p', {}, String(item.data.body)) : null,
      element('time', { datetime: item.ts }, time(item.ts)),
      unread ? element('button', { type: 'button', class: 'link', onclick: () => markRead([item.id]) }, 'Mark read') : null);
  }));
}

// ---- the curl panel ----

function renderCurl() {
  const user = client?.info?.user ?? 'alice';
  const channel = current ?? channelOf(DEFAULT_ROOM);
  const post = (path, body) =>
    `curl -X POST ${location.origin}${path} \\\n  -H 'X-Api-Key: dev-api-key' -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body)}'`;
  $('curl-notify').textContent = post(`/api/users/${encodeURIComponent(user)}/notifications`, { data: { title: 'Your order has shipped', body: 'Arrives Tuesday' } });
  $('curl-publish').textContent = post(`/api/channels/${channel}/messages`, { data: { text: 'Hello from the backend' } });
  $('curl-direct').textContent = post(`/api/users/${encodeURIComponent(user)}/messages`, { data: { text: 'Psst, just for you' } });
  document.querySelectorAll('.var-user').forEach((e) => { e.textContent = user; });
  document.querySelectorAll('.var-room').forEach((e) => { e.textContent = `#${roomLabel(channel)}`; });
}
