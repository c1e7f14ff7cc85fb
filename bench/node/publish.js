// The publisher of bench/routing.py's Node rows (bench only): a Socket.IO for
// Node server that serves no client, on the same Redis adapter as server.js,
// broadcasting as a web worker or a task would.
//
//   node publish.js --redis URL --redis-key PREFIX [--sharded] --rate N --count N NAMESPACE...
//
// Prints "ready" once its adapter is connected, waits for a line on stdin,
// then emits "message" {"user": "bench", "text": "<n>"} to NAMESPACE[n % k]
// for n in 0..count-1 at a fixed rate (as routing.py publishes for Python),
// and prints "done".
"use strict";

const readline = require("readline");
const { Server } = require("socket.io");
const { useRedisAdapter } = require("./server");

function parseArgs(argv) {
  const args = { redis: null, redisKey: "bench-socket.io", sharded: false, rate: 2000, count: 0, namespaces: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--redis") args.redis = argv[++i];
    else if (argv[i] === "--redis-key") args.redisKey = argv[++i];
    else if (argv[i] === "--sharded") args.sharded = true;
    else if (argv[i] === "--rate") args.rate = Number(argv[++i]);
    else if (argv[i] === "--count") args.count = Number(argv[++i]);
    else if (argv[i].startsWith("/")) args.namespaces.push(argv[i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!args.redis || !args.namespaces.length) throw new Error("usage: node publish.js --redis URL ... NAMESPACE...");
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const io = new Server();
  const clients = await useRedisAdapter(io, args);
  const namespaces = args.namespaces.map((name) => io.of(name));
  console.log("ready");
  await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once("line", resolve));
  const started = performance.now();
  for (let n = 0; n < args.count; n++) {
    const delay = started + (n * 1000) / args.rate - performance.now();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    namespaces[n % namespaces.length].emit("message", { user: "bench", text: String(n) });
  }
  // quit(), not disconnect(): it sends what is queued (the last SPUBLISHes) before closing.
  await Promise.all(clients.map((c) => c.quit().catch(() => {})));
  console.log("done");
  io.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
