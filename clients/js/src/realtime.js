// Realtime client: one WebSocket to a Realtime node (docs/protocol.md), replies matched to requests by
// id, reconnection with backoff, and channel recovery so that nothing is missed or shown twice.
// No dependencies: runs in browsers, and in Node given a WebSocket class (options.WebSocket). Frames are
// JSON text by default; protocol 'msgpack' sends MessagePack binary frames with a codec the app passes or
// that is loaded on first use (@msgpack/msgpack).

/** An error reply from the server (`code` as in the protocol) or a local one: timeout, disconnected, closed. */
export class RealtimeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
  }
}

const DEFAULTS = {
  requestTimeout: 10_000, // a reply that takes longer rejects with code 'timeout'
  connectTimeout: 10_000, // from opening the socket to the connect reply
  minReconnectDelay: 500,
  maxReconnectDelay: 15_000,
  pingInterval: 25_000, // checks a quiet connection; 0 turns it off
  refreshToken: true, // with getToken: send a fresh token before the current one expires
  trackUnread: true, // fetch the unread count on every connect
  protocol: 'json', // or 'msgpack': the same objects as MessagePack in binary frames
};

// Loaded only for protocol 'msgpack' without options.codec. The name is a variable, and the comments tell
// bundlers to leave the import alone, so that an app which never asks for MessagePack builds without it.
const MSGPACK_MODULE = '@msgpack/msgpack';

export class RealtimeClient {
  #url; #options; #WebSocket; #getToken; #token; #codec; #frames = null;
  #ws = null; #state = 'disconnected'; #closed = true; #everConnected = false; #seq = 0;
  #nextId = 1; #pending = new Map(); #queued = []; #connectWaiters = [];
  #channels = new Map(); #listeners = new Map();
  #attempt = 0; #authFailures = 0; #farewell = null; #timers = {};

  /** Who this connection is ({client, user, node}), once connected. */
  info = null;
  /** The unread notification count, kept current by pushes and by notifications()/read(). */
  unread = 0;

  constructor(url, options = {}) {
    const { token, getToken, WebSocket, codec, ...rest } = options;
    this.#url = String(url).replace(/^http/, 'ws');
    this.#options = { ...DEFAULTS, ...rest };
    this.#WebSocket = WebSocket ?? globalThis.WebSocket;
    if (!this.#WebSocket) throw new TypeError('no WebSocket: pass options.WebSocket (for Node 20, the "ws" package)');
    if (!token && !getToken) throw new TypeError('pass options.token or options.getToken');
    if (!['json', 'msgpack'].includes(this.#options.protocol)) throw new TypeError(`options.protocol is 'json' or 'msgpack', not '${this.#options.protocol}'`);
    if (codec && (typeof codec.encode !== 'function' || typeof codec.decode !== 'function')) throw new TypeError('options.codec needs encode(value) and decode(bytes)');
    this.#codec = codec;
    this.#token = token;
    this.#getToken = getToken;
  }

  /** 'connecting' | 'connected' | 'reconnecting' | 'disconnected' */
  get state() { return this.#state; }

  /** Adds a listener; returns a function that removes it. */
  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) { this.#listeners.get(event)?.delete(listener); }

  /** Opens the connection. Resolves with {client, user, node}; rejects if the server refuses it for good. */
  connect() {
    if (this.#state === 'connected') return Promise.resolve(this.info);
    const connected = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#closed) {
      [this.#closed, this.#attempt, this.#authFailures] = [false, 0, 0];
      this.#open();
    }
    return connected;
  }

  /** Closes the connection for good: no reconnect; pending requests and subscriptions end. */
  close() {
    this.#closed = true;
    this.#seq++;
    Object.values(this.#timers).forEach((t) => clearTimeout(t));
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      this.#rejectPending(ws, 'closed', 'the client was closed');
      try { ws.close(1000, 'client closed'); } catch { /* already closing */ }
    }
    this.#failWaiters(new RealtimeError('closed', 'the client was closed'));
    this.#channels.clear();
    this.#setState('disconnected');
  }

  /**
   * Subscribes to a channel and keeps the subscription across reconnects, resuming from the last
   * message seen. Resolves with the first subscribe reply; while disconnected it waits for the connection.
   * handlers: {onMessage, onJoin, onLeave, onSubscribed}; since: {epoch, offset} to resume from.
   */
  subscribe(channel, { since, ...handlers } = {}) {
    if (this.#closed) return Promise.reject(new RealtimeError('closed', 'call connect() first'));
    if (this.#channels.has(channel)) return Promise.reject(new RealtimeError('bad_request', `already subscribed to '${channel}'`));
    return new Promise((resolve, reject) => {
      const sub = { channel, handlers, epoch: since?.epoch ?? null, offset: since?.offset ?? 0, confirmed: false, waiters: [{ resolve, reject }] };
      this.#channels.set(channel, sub);
      if (this.#state === 'connected') this.#sendSubscribe(this.#ws, sub);
    });
  }

  /** The last position seen on a subscribed channel, {epoch, offset}: store it to resume after a reload. */
  position(channel) {
    const sub = this.#channels.get(channel);
    return sub?.epoch != null ? { epoch: sub.epoch, offset: sub.offset } : null;
  }

  async unsubscribe(channel) {
    const sub = this.#channels.get(channel);
    if (!sub) return {};
    this.#channels.delete(channel);
    this.#settle(sub, null, new RealtimeError('closed', `unsubscribed from '${channel}'`));
    return this.#state === 'connected' ? this.request('unsubscribe', { channel }).catch(() => ({})) : {};
  }

  publish(channel, data) { return this.request('publish', { channel, data }); }

  /** {limit, since: {epoch, offset}, before} → {epoch, offset, messages} (oldest first). */
  history(channel, { limit, since, before } = {}) { return this.request('history', { channel, limit, since, before }); }

  presence(channel) { return this.request('presence', { channel }); }

  /** A direct message to every open socket of `user`; not stored. */
  send(user, data) { return this.request('send', { user, data }); }

  async notifications({ limit, unread } = {}) {
    const result = await this.request('notifications', { limit, unread });
    this.#setUnread(result.unread);
    return result;
  }

  async read(ids) {
    const result = await this.request('read', { ids });
    this.#setUnread(result.unread);
    return result;
  }

  ping() { return this.request('ping', {}); }

  /** Sends any command; waits for the connection if it is being (re)established. */
  request(type, fields = {}) {
    if (this.#closed) return Promise.reject(new RealtimeError('closed', 'call connect() first'));
    if (this.#state === 'connected') return this.#call(this.#ws, type, fields);
    return new Promise((resolve, reject) => {
      const entry = { type, fields, resolve, reject };
      entry.timer = setTimeout(() => {
        this.#queued = this.#queued.filter((e) => e !== entry);
        reject(new RealtimeError('timeout', `'${type}' was not sent: not connected within ${this.#options.requestTimeout} ms`));
      }, this.#options.requestTimeout);
      this.#queued.push(entry);
    });
  }

  // ---- connection ----

  async #open() {
    const seq = ++this.#seq;
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
    try {
      this.#frames ??= await framesFor(this.#options.protocol, this.#codec);
    } catch (error) { // no MessagePack codec: retrying cannot help
      if (seq === this.#seq) this.#giveUp(error);
      return;
    }
    let token;
    try {
      if (this.#getToken && (!this.#token || this.#authFailures > 0)) this.#token = await this.#getToken();
      token = this.#token;
    } catch (error) {
      if (seq !== this.#seq) return;
      this.#emit('error', error);
      return this.#scheduleReconnect(0, 'getToken failed');
    }
    if (seq !== this.#seq) return;
    const { subprotocol } = this.#frames;
    let ws;
    try {
      ws = subprotocol ? new this.#WebSocket(this.#url, subprotocol) : new this.#WebSocket(this.#url);
    } catch (error) { // a malformed URL, or a page that may not open it: retrying cannot help
      return this.#giveUp(new RealtimeError('closed', `cannot open ${this.#url}: ${error.message}`));
    }
    if (subprotocol) ws.binaryType = 'arraybuffer'; // bytes for decode(), not a Blob (browsers) or a Buffer (ws)
    this.#ws = ws;
    this.#timers.connect = setTimeout(() => this.#drop(ws, 4000, 'connect timed out'), this.#options.connectTimeout);
    ws.onopen = () => {
      this.#call(ws, 'connect', { token }).then((info) => this.#onConnected(ws, info), () => { /* the close explains */ });
    };
    ws.onmessage = (event) => this.#onFrame(ws, event.data);
    ws.onclose = (event) => this.#drop(ws, event.code, event.reason);
    ws.onerror = () => { /* a close event follows */ };
  }

  #onConnected(ws, info) {
    if (ws !== this.#ws) return;
    clearTimeout(this.#timers.connect);
    this.info = info;
    this.#attempt = 0;
    this.#authFailures = 0;
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#setState('connected');
    this.#emit('connected', { ...info, reconnected });
    for (const sub of this.#channels.values()) this.#sendSubscribe(ws, sub);
    for (const entry of this.#queued.splice(0)) {
      clearTimeout(entry.timer);
      this.#call(ws, entry.type, entry.fields).then(entry.resolve, entry.reject);
    }
    this.#connectWaiters.splice(0).forEach((w) => w.resolve(info));
    if (this.#options.trackUnread) this.notifications({ limit: 0, unread: true }).catch(() => {});
    this.#scheduleRefresh(ws);
    this.#schedulePing(ws);
  }

  // Called for every end of a socket: its close event, a connect timeout, a failed ping.
  #drop(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try { if (ws.readyState <= 1) ws.close(1000, reason); } catch { /* already closed */ }
    ['connect', 'refresh', 'ping'].forEach((t) => clearTimeout(this.#timers[t]));
    this.#rejectPending(ws, 'disconnected', `connection lost (${code}${reason ? ` ${reason}` : ''})`);
    const farewell = this.#farewell;
    this.#farewell = null;
    if (this.#closed) return;

    // 4001: the token is bad or expired. With getToken, try once more with a fresh one.
    const unauthorized = code === 4001 || farewell?.code === 4001;
    const refusedForGood = unauthorized
      ? !this.#getToken || ++this.#authFailures > 1
      : farewell?.reconnect === false || code === 4003 || code === 4029;
    if (refusedForGood) {
      this.#closed = true;
      this.#emit('close', { code, reason, reconnect: false });
      const error = new RealtimeError(unauthorized ? 'unauthorized' : 'disconnected', reason || `closed with ${code}`);
      this.#failWaiters(error);
      this.#setState('disconnected');
      return;
    }
    this.#scheduleReconnect(code, reason, unauthorized);
  }

  // Ends the client after a failure that no retry can mend.
  #giveUp(error) {
    this.#closed = true;
    this.#failWaiters(error);
    this.#setState('disconnected');
  }

  #scheduleReconnect(code, reason, now = false) {
    const { minReconnectDelay: min, maxReconnectDelay: max } = this.#options;
    const ceiling = Math.min(max, min * 2 ** this.#attempt++);
    const delay = now ? 0 : Math.round(ceiling / 2 + (Math.random() * ceiling) / 2); // "equal jitter"
    this.#emit('close', { code, reason, reconnect: true, delay });
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
    this.#timers.retry = setTimeout(() => this.#open(), delay);
  }

  #scheduleRefresh(ws) {
    const expiresAt = this.#getToken && this.#options.refreshToken ? tokenExpiry(this.#token) : null;
    if (!expiresAt) return;
    const left = expiresAt - Date.now();
    this.#timers.refresh = setTimeout(async () => {
      try {
        const token = await this.#getToken();
        if (ws !== this.#ws) return;
        this.#token = token;
        this.info = await this.#call(ws, 'connect', { token });
        this.#scheduleRefresh(ws);
      } catch (error) {
        this.#emit('error', error); // the server closes with 4001 at expiry, and we reconnect with a fresh token
      }
    }, Math.max(250, left > 120_000 ? left - 60_000 : left / 2));
  }

  #schedulePing(ws) {
    if (!this.#options.pingInterval) return;
    this.#timers.ping = setTimeout(() => {
      this.#call(ws, 'ping', {}).then(() => this.#schedulePing(ws), (e) => {
        if (e.code === 'timeout') this.#drop(ws, 4000, 'ping timed out');
      });
    }, this.#options.pingInterval);
  }

  // ---- frames ----

  #call(ws, type, fields) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RealtimeError('timeout', `no reply to '${type}' within ${this.#options.requestTimeout} ms`));
      }, this.#options.requestTimeout);
      this.#pending.set(id, { ws, resolve, reject, timer });
      try {
        ws.send(this.#frames.write({ id, type, ...fields }));
      } catch (error) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(new RealtimeError('disconnected', String(error?.message ?? error)));
      }
    });
  }

  #onFrame(ws, data) {
    if (ws !== this.#ws) return;
    let frame;
    try { frame = this.#frames.read(data); } catch { return; }
    if (frame.type === undefined) { // a reply; pushes always have a type (and a notification has an id of its own)
      const call = this.#pending.get(frame.id);
      if (call) {
        this.#pending.delete(frame.id);
        clearTimeout(call.timer);
        return frame.error ? call.reject(new RealtimeError(frame.error.code, frame.error.message)) : call.resolve(frame.result);
      }
      // No request waits for it: a late reply (ignored), or an error about a frame without an id.
      return frame.error && this.#emit('error', new RealtimeError(frame.error.code, frame.error.message));
    }
    const sub = this.#channels.get(frame.channel);
    switch (frame.type) {
      case 'message': return sub && this.#deliver(sub, frame);
      case 'join': safely(sub?.handlers.onJoin, frame); return this.#emit('join', frame);
      case 'leave': safely(sub?.handlers.onLeave, frame); return this.#emit('leave', frame);
      case 'notification': this.#setUnread(this.unread + 1); return this.#emit('notification', frame);
      case 'direct': return this.#emit('direct', frame);
      case 'unsubscribed':
        // The server ends a subscription it can no longer deliver in order; `since` is where the app
        // left off, so subscribe(channel, { since }) gets exactly what it missed, or recovered:false.
        if (sub) this.#channels.delete(frame.channel);
        return this.#emit('unsubscribed', { ...frame, since: sub ? since(sub) : null });
      case 'disconnect': this.#farewell = frame; return this.#emit('disconnect', frame);
    }
  }

  #sendSubscribe(ws, sub) {
    this.#call(ws, 'subscribe', { channel: sub.channel, since: since(sub) ?? undefined }).then((result) => {
      if (this.#channels.get(sub.channel) !== sub) return;
      for (const message of result.messages) this.#deliver(sub, message);
      // Live messages follow from the reply's offset, whether or not the gap could be filled.
      [sub.epoch, sub.offset] = [result.epoch, result.offset];
      const event = { channel: sub.channel, epoch: result.epoch, offset: result.offset, recovered: result.recovered, resubscribed: sub.confirmed };
      sub.confirmed = true;
      safely(sub.handlers.onSubscribed, event);
      this.#emit('subscribed', event);
      this.#settle(sub, result);
    }, (error) => {
      if (error.code === 'disconnected' || this.#channels.get(sub.channel) !== sub) return; // retried on reconnect
      this.#channels.delete(sub.channel);
      this.#settle(sub, null, error);
      this.#emit('unsubscribed', { type: 'unsubscribed', channel: sub.channel, reason: error.message, since: since(sub) });
      if (sub.confirmed) this.#emit('error', Object.assign(error, { channel: sub.channel }));
    });
  }

  // Messages reach the app once each, in offset order: anything at or below the last seen offset of
  // the same epoch is a repeat. A new epoch means the channel's history restarted.
  #deliver(sub, message) {
    if (message.epoch === sub.epoch && message.offset <= sub.offset) return;
    [sub.epoch, sub.offset] = [message.epoch, message.offset];
    safely(sub.handlers.onMessage, message);
    this.#emit('message', message);
  }

  // ---- bookkeeping ----

  #settle(sub, result, error) {
    for (const w of sub.waiters.splice(0)) error ? w.reject(error) : w.resolve(result);
  }

  #rejectPending(ws, code, message) {
    for (const [id, call] of this.#pending) {
      if (call.ws !== ws) continue;
      this.#pending.delete(id);
      clearTimeout(call.timer);
      call.reject(new RealtimeError(code, message));
    }
  }

  #failWaiters(error) {
    for (const entry of this.#queued.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.#connectWaiters.splice(0).forEach((w) => w.reject(error));
    for (const sub of this.#channels.values()) this.#settle(sub, null, error);
  }

  #setUnread(count) {
    if (typeof count !== 'number') return;
    this.unread = count;
    this.#emit('unread', count);
  }

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.#emit('state', state);
  }

  #emit(event, payload) {
    for (const listener of this.#listeners.get(event) ?? []) safely(listener, payload);
  }
}

// How frames are written and read. JSON asks for no subprotocol (a node's default is realtime.json), so
// that a node which predates subprotocols accepts it too: a browser fails a socket whose server does not
// echo the subprotocol it asked for.
const JSON_FRAMES = {
  subprotocol: null,
  write: (frame) => JSON.stringify(frame),
  read: (data) => JSON.parse(typeof data === 'string' ? data : String(data)),
};

async function framesFor(protocol, codec) {
  if (protocol === 'json') return JSON_FRAMES;
  if (!codec) {
    try {
      codec = await import(/* webpackIgnore: true */ /* @vite-ignore */ MSGPACK_MODULE);
    } catch (error) {
      throw new RealtimeError('closed', `protocol 'msgpack' needs a MessagePack codec: install @msgpack/msgpack, or pass options.codec (${error.message})`);
    }
  }
  return {
    subprotocol: 'realtime.msgpack',
    // Encodes what JSON.stringify would write: toJSON() applied (a Date is its ISO string), undefined fields
    // left out, NaN as null. As they are, they would be a MessagePack extension, nil and a float, which
    // the server refuses or reads otherwise. The codec must decode integers as numbers (the default of
    // @msgpack/msgpack, which reads one past 2^53 as the same inexact number JSON.parse gives, not a BigInt).
    write: (frame) => codec.encode(JSON.parse(JSON.stringify(frame))),
    read: (data) => codec.decode(new Uint8Array(data)),
  };
}

// The position a subscription has reached, as a subscribe's `since`; null before its first reply.
function since(sub) {
  return sub.epoch != null ? { epoch: sub.epoch, offset: sub.offset } : null;
}

// Calls an app's listener. Its exception is rethrown outside the client, so it is reported and the
// client's own state stays consistent.
function safely(listener, payload) {
  try {
    listener?.(payload);
  } catch (error) {
    setTimeout(() => { throw error; });
  }
}

// The `exp` claim of a JWT in milliseconds, or null. The token is not verified: only the server can.
function tokenExpiry(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(payload)).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}
