// The bench's channel on Socket.IO for Node v4 (bench only).
//
//   node server.js PORT [--redis redis://127.0.0.1:6379/0 --redis-key PREFIX [--sharded]]
//
// Same behaviour as bench/project's RoomChannel: namespaces /rooms/<slug>
// (dynamic namespaces), auth {"name"}, "message" broadcast to the namespace
// as {"user", "text", ...payload} and acknowledged with {"ok": true}; the
// ping settings and message size limit of python-engineio's defaults. With
// --redis, broadcasts go through @socket.io/redis-adapter (scale-out); with
// --sharded too, through its sharded adapter (createShardedAdapter: Redis 7's
// SPUBLISH / SSUBSCRIBE, subscriptionMode "dynamic"), as bench/routing.py runs it.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const MAX_NAME = 30;
const MAX_TEXT = 500;

function parseArgs(argv) {
  const args = { port: Number(argv[0]), host: "127.0.0.1", redis: null, redisKey: "bench-socket.io", sharded: false };
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === "--redis") args.redis = argv[++i];
    else if (argv[i] === "--sharded") args.sharded = true;
    else if (argv[i] === "--redis-key") args.redisKey = argv[++i];
    else if (argv[i] === "--host") args.host = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(args.port)) throw new Error("usage: node server.js PORT [--redis URL]");
  return args;
}

// Connects the Redis clients of io's adapter; returns them (to disconnect on exit).
async function useRedisAdapter(io, args) {
  const { createClient } = require("redis");
  const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url: args.redis });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (err) => console.error("redis:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(
    args.sharded
      ? createShardedAdapter(pub, sub, { channelPrefix: args.redisKey, subscriptionMode: "dynamic" })
      : createAdapter(pub, sub, { key: args.redisKey })
  );
  return [pub, sub];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    serveClient: false,
    pingInterval: 25000,
    pingTimeout: 20000,
    maxHttpBufferSize: 100000,
    cors: { origin: true },
  });
  const clients = [];
  if (args.redis) {
    clients.push(...(await useRedisAdapter(io, args)));
  }

  const rooms = io.of(/^\/rooms\/[-a-zA-Z0-9_]+$/);
  rooms.use((socket, next) => {
    const auth = socket.handshake.auth;
    const name = auth && typeof auth === "object" ? String(auth.name ?? "").trim() : "";
    if (!name) return next(new Error("Pick a nickname first."));
    socket.data.name = name.slice(0, MAX_NAME);
    next();
  });
  rooms.on("connection", (socket) => {
    socket.on("message", (data, ack) => {
      data = data && typeof data === "object" && !Array.isArray(data) ? data : {};
      const text = String(data.text ?? "").trim();
      if (!text) {
        if (typeof ack === "function") ack({ error: { message: "Type a message first.", code: "invalid" } });
        return;
      }
      socket.nsp.emit("message", { ...data, user: socket.data.name, text: text.slice(0, MAX_TEXT) });
      if (typeof ack === "function") ack({ ok: true });
    });
  });

  httpServer.listen(args.port, args.host, () => {
    console.log(`socket.io ${require("socket.io/package.json").version} listening on ${args.host}:${args.port}`);
  });
  const stop = () => {
    io.close();
    for (const c of clients) c.disconnect().catch(() => {});
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { useRedisAdapter };
