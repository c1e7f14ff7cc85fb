// Many official socket.io-client connections behind a load balancer, while
// process A drains (tests/test_drain.py, bench/drain.py).
//
//   node drain_clients.js CONFIG_JSON
//
// Each new connection goes to A while A's health check (GET /healthz/, polled
// every 100 ms) answers 200, else to B (see balance() below). The clients
// connect (WebSocket transport) to one channel with history; once
// all are subscribed, a publisher connected to B broadcasts numbered messages
// at a steady rate (each acknowledged, so kept in history), this script sends
// SIGTERM to A, and the publisher goes on through the drain. At the end every
// client must have reconnected (to B) and received every message exactly once.
// Prints one JSON object. Every wait is bounded by `deadline_s`.
"use strict";

const http = require("http");
const { Manager } = require("socket.io-client");

const cfg = Object.assign(
  {
    a: "http://127.0.0.1:1", // A's base URL
    b: "http://127.0.0.1:2",
    a_pid: null,
    namespace: "/history/drain",
    clients: 100,
    window_s: 3,
    message_rate: 20,
    connect_batch: 100,
    deadline_s: 120,
    auth: {}, // the subscriptions' auth (bench/drain.py: a nickname)
    payload: {}, // merged into each published message (bench/drain.py: a text)
  },
  JSON.parse(process.argv[2] || "{}")
);
const started = Date.now();
const now = () => (Date.now() - started) / 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The load balancer: each new connection (the first, and every reconnection
// attempt, when socket.io-client opens a new Engine.IO connection) goes to A
// while A's health check answers 200, else to B, as nginx or HAProxy with an
// active health check pick an upstream for a new connection. It is applied
// to the client's Manager (its uri) rather than by proxying every byte, which
// would double this process's work.
let aHealthy = true;
const lbLog = []; // [time, "A" | "B"] of every connection attempt
function checkHealth() {
  const request = http.get(cfg.a + "/healthz/", { timeout: 500 }, (response) => {
    aHealthy = response.statusCode === 200;
    response.resume();
  });
  request.on("error", () => (aHealthy = false));
  request.on("timeout", () => request.destroy());
}
const healthTimer = setInterval(checkHealth, 100);
function balance(manager) {
  const name = aHealthy ? "A" : "B";
  lbLog.push([now(), name]);
  manager.uri = name === "A" ? cfg.a : cfg.b;
}

function histogram(times) {
  const counts = [];
  for (const t of times) {
    if (t === null) continue;
    const bucket = Math.max(0, Math.floor(t));
    while (counts.length <= bucket) counts.push(0);
    counts[bucket] += 1;
  }
  return counts;
}

function finish(result) {
  clearInterval(healthTimer);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}
setTimeout(() => finish({ error: "deadline", at: now() }), cfg.deadline_s * 1000).unref();

async function waitFor(predicate, seconds) {
  const until = Date.now() + seconds * 1000;
  while (!predicate() && Date.now() < until) await sleep(20);
  return predicate();
}

async function main() {
  const clients = [];
  for (let i = 0; i < cfg.clients; i++) {
    const manager = new Manager(cfg.a, {
      transports: ["websocket"],
      reconnectionDelayMax: 2000,
      autoConnect: false,
    });
    const socket = manager.socket(cfg.namespace, { auth: cfg.auth });
    const c = { socket, connects: 0, seqs: [], reconnectedAt: null, recovered: null, disconnects: [], errors: [], engineErrors: 0, log: [] };
    socket.on("connect", () => {
      c.connects += 1;
      if (c.connects > 1) {
        c.reconnectedAt = now();
        c.recovered = socket.recovered;
      }
    });
    socket.on("message", (data, offset) => {
      c.seqs.push(data.seq);
      c.log.push([data.seq, c.connects, offset]);
    });
    socket.on("disconnect", (reason) => c.disconnects.push([now(), reason]));
    socket.on("connect_error", (err) => c.errors.push(err.message));
    manager.on("reconnect_error", () => (c.engineErrors += 1));
    manager.on("reconnect_attempt", () => balance(manager));
    balance(manager);
    clients.push(c);
  }
  for (let i = 0; i < clients.length; i += cfg.connect_batch) {
    clients.slice(i, i + cfg.connect_batch).forEach((c) => c.socket.connect());
    await waitFor(() => clients.slice(i, i + cfg.connect_batch).every((c) => c.connects > 0), 30);
  }
  const connected = clients.filter((c) => c.connects > 0).length;
  if (connected < clients.length) {
    return finish({ error: "not every client connected", connected, clients: clients.length });
  }
  const onA = lbLog.filter(([, name]) => name === "A").length;

  // The publisher, straight to B.
  const publisher = new Manager(cfg.b, { transports: ["websocket"] }).socket(cfg.namespace, { auth: cfg.auth });
  await waitFor(() => publisher.connected, 10);
  let sent = 0;
  let acked = 0;
  let publishing = true;
  const publish = async () => {
    const interval = 1000 / cfg.message_rate;
    const t0 = Date.now();
    while (publishing) {
      sent += 1;
      publisher.emit("message", { ...cfg.payload, seq: sent }, () => (acked += 1));
      const due = t0 + sent * interval;
      await sleep(Math.max(0, due - Date.now()));
    }
  };
  const publishing_done = publish();
  await sleep(500);

  const termAt = now();
  const lbBefore = lbLog.length;
  process.kill(cfg.a_pid, "SIGTERM");
  const allBack = () => clients.every((c) => c.reconnectedAt !== null && c.socket.connected);
  const backInTime = await waitFor(allBack, cfg.window_s + 5);
  const backAt = now();
  await waitFor(allBack, 30);
  // The publisher goes on a little after the last reconnection.
  await sleep(1000);
  publishing = false;
  await publishing_done;
  await waitFor(() => acked === sent, 10);
  // Let the last broadcasts arrive.
  const total = sent;
  await waitFor(() => clients.every((c) => c.seqs.length >= total), 5);

  let missing = 0;
  let duplicates = 0;
  let lossy = 0;
  let dupSample = null;
  for (const c of clients) {
    const seen = new Map();
    for (const seq of c.seqs) seen.set(seq, (seen.get(seq) || 0) + 1);
    let cMissing = 0;
    for (let seq = 1; seq <= total; seq++) if (!seen.has(seq)) cMissing += 1;
    for (const count of seen.values()) if (count > 1) duplicates += count - 1;
    if ([...seen.values()].some((n) => n > 1) && !dupSample) dupSample = c.log;
    missing += cMissing;
    if (cMissing) lossy += 1;
  }
  const after = lbLog.slice(lbBefore);
  const perSecond = new Map();
  for (const [t, name] of after) {
    if (name !== "B") continue;
    const bucket = Math.floor(t - termAt);
    perSecond.set(bucket, (perSecond.get(bucket) || 0) + 1);
  }
  const reconnectTimes = clients.map((c) => (c.reconnectedAt === null ? null : c.reconnectedAt - termAt));
  // When each client lost its transport: spread over the window by the drain, all together without it.
  const closeTimes = clients.filter((c) => c.disconnects.length).map((c) => c.disconnects[0][0] - termAt).sort((x, y) => x - y);
  const quantile = (q) => (closeTimes.length ? closeTimes[Math.min(closeTimes.length - 1, Math.floor(q * closeTimes.length))] : null);
  finish({
    clients: clients.length,
    connected_to_a: onA,
    reconnected: clients.filter((c) => c.reconnectedAt !== null && c.socket.connected).length,
    all_back_s: backInTime ? backAt - termAt : null,
    last_back_s: allBack() ? Math.max(...clients.map((c) => c.reconnectedAt)) - termAt : null,
    closed_quartiles_s: [quantile(0.25), quantile(0.5), quantile(0.75)],
    closed_per_s: histogram(clients.map((c) => (c.disconnects.length ? c.disconnects[0][0] - termAt : null))),
    back_per_s: histogram(clients.map((c) => (c.reconnectedAt === null ? null : c.reconnectedAt - termAt))),
    slowest_reconnects_s: clients
      .filter((c) => c.disconnects.length && c.reconnectedAt !== null)
      .map((c) => Math.round((c.reconnectedAt - c.disconnects[0][0]) * 100) / 100)
      .sort((x, y) => y - x)
      .slice(0, 5),
    max_reconnect_s: Math.max(...reconnectTimes.filter((t) => t !== null)),
    first_reconnect_s: Math.min(...reconnectTimes.filter((t) => t !== null)),
    disconnect_reasons: [...new Set(clients.flatMap((c) => c.disconnects.map(([, r]) => r)))],
    not_recovered: clients.filter((c) => c.reconnectedAt !== null && !c.recovered).length,
    connect_errors: clients.reduce((n, c) => n + c.errors.length, 0),
    connect_error_messages: [...new Set(clients.flatMap((c) => c.errors))].slice(0, 5),
    engine_errors: clients.reduce((n, c) => n + c.engineErrors, 0),
    a_after_term_s: after.filter(([, n]) => n === "A").map(([t]) => t - termAt),
    lb_after_term: { A: after.filter(([, n]) => n === "A").length, B: after.filter(([, n]) => n === "B").length },
    peak_b_per_s: Math.max(0, ...perSecond.values()),
    messages: total,
    acked,
    missing,
    duplicates,
    clients_with_loss: lossy,
    duplicate_sample: dupSample && dupSample.slice(0, 200),
  });
}

main().catch((err) => finish({ error: String(err && err.stack) }));
