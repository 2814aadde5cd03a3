// A WebSocket stand-in for cases a real server cannot produce on demand: a reply that never comes,
// a repeated message. It opens at once and hands each command to FakeSocket.onCommand.
export class FakeSocket {
  static last = null;
  static onCommand = () => {};

  static reset() {
    FakeSocket.last = null;
    FakeSocket.onCommand = () => {};
  }

  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;

  constructor(url) {
    this.url = url;
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(text) {
    FakeSocket.onCommand(this, JSON.parse(text));
  }

  close(code = 1000, reason = '') {
    if (this.readyState > 1) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  reply(id, result) { this.push({ id, result }); }

  push(frame) {
    queueMicrotask(() => this.onmessage?.({ data: JSON.stringify(frame) }));
  }
}
