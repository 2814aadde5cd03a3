'use strict';
// A broadcaster on Node's `ws`: channel -> Set of sockets in process, no auth, no history. Each publish is
// serialised once into a Buffer and the same Buffer is sent to every subscriber. Speaks the peers' JSON
// protocol (bench/peers/README.md). Usage: PORT=5303 node server.js
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.env.PORT || 5303);
const rooms = new Map();

const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.end(`js_heap_bytes ${process.memoryUsage().heapUsed}\n`);
  } else {
    res.statusCode = 404;
    res.end();
  }
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws) => {
  const joined = [];
  ws.on('message', (raw) => {
    let command;
    try {
      command = JSON.parse(raw);
    } catch {
      return;
    }
    if (command.type === 'subscribe' && typeof command.channel === 'string') {
      let room = rooms.get(command.channel);
      if (!room) rooms.set(command.channel, (room = new Set()));
      room.add(ws);
      joined.push(command.channel);
    } else if (command.type === 'publish' && typeof command.channel === 'string') {
      const room = rooms.get(command.channel);
      if (room) {
        const frame = Buffer.from(JSON.stringify({ type: 'message', channel: command.channel, data: command.data }));
        for (const member of room) member.send(frame, { binary: false });
      }
    }
    if (command.id !== undefined) ws.send(`{"id":${command.id}}`);
  });
  ws.on('close', () => {
    for (const channel of joined) {
      const room = rooms.get(channel);
      if (room && room.delete(ws) && room.size === 0) rooms.delete(channel);
    }
  });
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1');
