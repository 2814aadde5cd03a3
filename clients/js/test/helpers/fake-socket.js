// A WebSocket stand-in for cases a real server cannot produce on demand: a reply that never comes,
// a repeated message. It opens at once and hands each command to FakeSocket.onCommand. Asked for the
// realtime.msgpack subprotocol, it reads and writes MessagePack binary frames, as a node would.
import { decode, encode } from '@msgpack/msgpack';

export class FakeSocket {
  static last = null;
  static onCommand = () => {};

  static reset() {
    FakeSocket.last = null;
    FakeSocket.onCommand = () => {};
  }

  readyState = 0;
  binaryType = 'blob';
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;

  constructor(url, protocol = '') {
    this.url = url;
    this.protocol = protocol;
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  get #binary() { return this.protocol === 'realtime.msgpack'; }

  send(data) {
    // A node closes a socket that sends the other kind of frame (1003); here the send throws.
    if (this.#binary !== (typeof data !== 'string')) throw new Error(`a ${typeof data === 'string' ? 'text' : 'binary'} frame on '${this.protocol}'`);
    FakeSocket.onCommand(this, this.#binary ? decode(data) : JSON.parse(data));
  }

  close(code = 1000, reason = '') {
    if (this.readyState > 1) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  reply(id, result) { this.push({ id, result }); }

  push(frame) {
    if (this.#binary && this.binaryType !== 'arraybuffer') throw new Error(`binaryType is '${this.binaryType}'`);
    const data = this.#binary ? encode(frame).slice().buffer : JSON.stringify(frame);
    queueMicrotask(() => this.onmessage?.({ data }));
  }
}
