// A real Realtime node for the tests: the Release build of src/Api, started on a free loopback port
// (clients/js/test.sh builds it first), plus a TCP proxy that can cut sockets without a close frame.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SECRET = 'js-client-tests-secret-0123456789-abcdefgh';
export const API_KEY = 'dev-api-key';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const BUILD = path.join(ROOT, 'src/Api/bin/Release/net10.0');

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One node. stop() and start() again on the same port simulate a restart (the memory engine starts empty).
 *  `settings` are extra environment variables, such as Realtime__Namespaces__team__Restricted. */
export class TestServer {
  #process = null;
  #output = [];

  constructor(port, settings = {}) {
    this.port = port;
    this.settings = settings;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
  }

  static async start(settings) {
    const server = new TestServer(await freePort(), settings);
    await server.start();
    return server;
  }

  async start() {
    const dll = path.join(BUILD, 'Realtime.Api.dll');
    if (!existsSync(dll)) throw new Error(`${dll} is missing: run clients/js/test.sh (it builds src/Api in Release)`);
    // The build folder is the content root: appsettings*.json are there, and in Development the static
    // web assets manifest maps the demo page to src/Api/wwwroot and /realtime.js to clients/js/src.
    const child = spawn('dotnet', [dll, '--urls', this.url], {
      cwd: BUILD,
      env: {
        ...process.env,
        ASPNETCORE_ENVIRONMENT: 'Development',
        DOTNET_NOLOGO: '1',
        Realtime__Auth__JwtSecret: SECRET,
        Realtime__NodeId: `js-tests-${this.port}`,
        Realtime__Limits__CloseTimeout: '00:00:01',
        Logging__LogLevel__Default: 'Warning',
        ...this.settings,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#process = child;
    const keep = (chunk) => this.#output.push(chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      try {
        if ((await fetch(`${this.url}/health/live`)).ok) return;
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`the server did not start on ${this.url}:\n${this.#output.join('')}`);
  }

  async stop() {
    const child = this.#process;
    this.#process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /** A REST call with the API key. Returns the parsed body (or null), and throws on an error status. */
  async api(method, route, body) {
    const response = await fetch(this.url + route, {
      method,
      headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route} → ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A development token from POST /dev/token. */
  async devToken(user) {
    const response = await fetch(`${this.url}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    if (!response.ok) throw new Error(`/dev/token → ${response.status}`);
    return (await response.json()).token;
  }
}

/** An HS256 token signed with the test secret; `seconds` may be fractional (the server honours that). */
export function mintToken(user, { seconds = 3600, channels } = {}) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = { sub: user, exp: Date.now() / 1000 + seconds, ...(channels ? { channels } : {}) };
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

/** Forwards a local port to the server. cut() destroys every connection (the client sees a dead
 *  socket, no close frame) and refuses new ones until resume(). */
export class TcpProxy {
  #server;
  #sockets = new Set();
  #refusing = false;
  accepted = 0; // connections forwarded so far

  constructor(targetPort) {
    this.targetPort = targetPort;
  }

  async start() {
    this.#server = net.createServer((client) => {
      if (this.#refusing) return client.destroy();
      this.accepted++;
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]]) {
        this.#sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => { this.#sockets.delete(a); b.destroy(); });
        a.pipe(b);
      }
    });
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = this.#server.address().port;
    this.url = `http://127.0.0.1:${this.port}`;
    this.wsUrl = `ws://127.0.0.1:${this.port}/ws`;
    return this;
  }

  get connections() { return this.#sockets.size / 2; }

  cut() {
    this.#refusing = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  resume() { this.#refusing = false; }

  /** Stops forwarding on every open connection without closing it: a half-open connection. */
  freeze() {
    for (const socket of this.#sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  async stop() {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `predicate` returns a truthy value, which it returns; fails after `timeout` ms. */
export async function waitFor(predicate, { timeout = 10_000, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}`);
    await sleep(25);
  }
}

/** The next `event` from a client whose payload passes `filter`. */
export function nextEvent(client, event, filter = () => true, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no '${event}' event within ${timeout} ms`)); }, timeout);
    const off = client.on(event, (payload) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
