// The soak's clients (bench only, driven by bench/soak.py): many official
// socket.io-client connections over the rooms of one channel with history,
// for minutes of mixed traffic, with every delivery checked.
//
//   node soak.js CONFIG.json OUT.json
//
// What runs at once, for `minutes`:
// - messages at a steady rate, each from a random live client to its room,
//   carrying the sender id and the sender's sequence number, acknowledged;
// - churn: a random client leaves (socket.disconnect()) and a new one joins;
// - reconnects: a random client's transport is closed as a lost network does
//   (socket.io.engine.close()); it must come back with socket.recovered;
// - a flood room whose publisher sends large messages, where one raw
//   WebSocket subscriber stops reading while it keeps sending pongs: the
//   server must end it with the `slow_consumer` code, then another one starts;
// - a raw client sending refused packets (unknown channels, unknown events,
//   bad payloads, and now and then a packet that closes its connection) at a
//   bounded rate, checking that each gets its documented answer.
//
// The server's stats (/stats/ of the bench project, BENCH_STATS=1) are read
// cold, at the start (after a short warm-up, before the clients), in the
// middle, when the traffic stops, and at the end (after every client left and
// the server settled). Every delivery is checked afterwards: for each client
// and each span during which it was subscribed, every message of its room
// emitted after the span began and confirmed (acknowledged, or received by
// anyone) before it ended must have arrived, once. A reconnect that did not
// recover ends a span: what it missed is counted apart, not hidden.
//
// Every loop is bounded in count and time, and a watchdog writes what was
// gathered and exits past deadline_s.
"use strict";

const fs = require("fs");
const http = require("http");
const os = require("os");
const { execSync } = require("child_process");
const { performance } = require("perf_hooks");
const WebSocket = require("ws");
const { Manager } = require("socket.io-client");

const [configPath, outPath] = process.argv.slice(2);
if (!configPath || !outPath) {
  console.error("usage: node soak.js CONFIG.json OUT.json");
  process.exit(64);
}
const cfg = Object.assign(
  {
    target: "http://127.0.0.1:8000",
    server_pid: null,
    server_log: null,
    channel: "soak",
    minutes: 10,
    clients: 1000,
    rooms: 50,
    message_rate: 200, // messages/s over all rooms (not counting the flood room)
    churn_per_s: 2, // leaves per second, each followed by a join
    drops_per_s: 1, // transports closed per second
    flood_members: 10, // socket.io-client subscribers of the flood room (among `clients`)
    flood_rate: 20, // messages/s of the flood room's publisher
    flood_bytes: 16000, // padding of each flood message
    slow_pause_s: 20, // between two slow consumers
    slow_timeout_s: 120, // a slow consumer not ended by then counts as a failure
    slow_min_left_s: 45, // no slow consumer starts with less traffic left than this
    refused_rate: 20, // refused packets/s
    refused_closer_every: 25, // one packet in this many closes the connection
    ack_timeout_ms: 10000,
    grace_ms: 2000, // a message confirmed this close to a span's end is not judged
    connect_concurrency: 50,
    connect_timeout_s: 30,
    warmup_clients: 20,
    settle_max_s: 180,
    settle_poll_s: 5,
    timeline_s: 10,
    deadline_s: 1200,
  },
  JSON.parse(fs.readFileSync(configPath, "utf8"))
);

const T0 = performance.now();
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error(`[soak ${((now() - T0) / 1000).toFixed(1)}s]`, ...args);
const round = (x, digits = 2) => (x === null || x === undefined ? x : Number(x.toFixed(digits)));
const bump = (counter, key, n = 1) => {
  counter[key] = (counter[key] || 0) + n;
};

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;
} catch (err) {
  /* keep 100 */
}

// ---------------------------------------------------------------- the server, from outside and inside

function serverRssKb() {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${cfg.server_pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch (err) {
    return null;
  }
}

function serverTicks() {
  try {
    const stat = fs.readFileSync(`/proc/${cfg.server_pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch (err) {
    return null;
  }
}

const serverAlive = () => fs.existsSync(`/proc/${cfg.server_pid}`);

// The bench project's /stats/ (a full collection first): RSS, greenlets, sockets.
function getStats(label) {
  const started = now();
  return new Promise((resolve) => {
    const req = http.get(`${cfg.target}/stats/?collect=1`, { timeout: 60000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        try {
          const stats = JSON.parse(body);
          stats.label = label;
          stats.at_s = round((started - T0) / 1000, 1);
          stats.request_ms = round(now() - started, 1);
          resolve(stats);
        } catch (err) {
          resolve({ label, error: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ label, error: String(err.message || err) }));
  });
}

// New lines of the server's log since the last call (for the slow consumer's verdict).
let logOffset = 0;
function newLogLines() {
  if (!cfg.server_log) return [];
  let fd;
  try {
    fd = fs.openSync(cfg.server_log, "r");
    const size = fs.fstatSync(fd).size;
    if (size <= logOffset) return [];
    const buf = Buffer.alloc(Math.min(size - logOffset, 4 << 20));
    const n = fs.readSync(fd, buf, 0, buf.length, logOffset);
    const text = buf.slice(0, n).toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return [];
    logOffset += Buffer.byteLength(text.slice(0, end + 1));
    return text.slice(0, end).split("\n");
  } catch (err) {
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- the ledger

const KEY = 1e7; // message key: sender uid * KEY + sequence number
const messages = new Map(); // key -> {room, pub, seq, emitT, ackT, recvT}
const byRoom = new Map(); // room -> [message], in emission order
const totals = {
  sent: 0,
  acked: 0,
  ack_errors: {},
  ack_refused: 0,
  received: 0,
  duplicates: 0,
  reordered: 0,
  unknown: 0,
  pending_acks: 0,
};
const latencies = []; // live deliveries: emitted after the receiver's last reconnect
const replayLatencies = []; // emitted before a recovered reconnect, delivered after it
const events = {
  connect_errors: {}, // first subscriptions and reconnections refused, by code
  error_events: {}, // `error` events received by the socket.io clients, by code
  unexpected_disconnects: {}, // disconnects we did not cause, by reason
  drops: 0,
  recovered: 0,
  not_recovered: 0,
  recovery_ms: [],
  joins: 0,
  join_failures: 0,
  leaves: 0,
  still_reconnecting_at_end: 0,
};

function contains(runs, seq) {
  if (!runs) return false;
  for (let i = runs.length - 1; i >= 0; i--) {
    if (seq > runs[i][1]) return false;
    if (seq >= runs[i][0]) return true;
  }
  return false;
}

// ---------------------------------------------------------------- socket.io clients

let nextUid = 1;
const live = new Set(); // clients subscribed and not leaving
const everyone = []; // every client ever made (judged at the end)

class SioClient {
  constructor(room, { judged = true } = {}) {
    this.uid = nextUid++;
    this.room = room;
    this.judged = judged;
    this.state = "connecting"; // connecting | live | down | gone | failed
    this.runs = new Map(); // sender uid -> [[first, last], ...] of sequence numbers received
    this.spans = []; // [start, end] while subscribed (a recovered reconnect keeps the span)
    this.downtimes = []; // [from, to] of reconnects that did not recover
    this.spanStart = null;
    this.downAt = null;
    this.recoveredAt = null;
    this.dropping = false;
    this.seq = 0;
    this.received = 0;
    this.manager = new Manager(cfg.target, {
      transports: ["websocket"],
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
      timeout: cfg.connect_timeout_s * 1000,
    });
    this.socket = this.manager.socket(`/${cfg.channel}/${room}`, { auth: { name: `s${this.uid}` } });
    this.opened = new Promise((resolve) => (this._opened = resolve));
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", (reason) => this.onDisconnect(reason));
    this.socket.on("connect_error", (err) => this.onConnectError(err));
    this.socket.on("message", (data) => this.onMessage(data));
    this.socket.on("error", (data) => bump(events.error_events, (data && data.code) || "none"));
    if (judged) everyone.push(this);
  }

  onConnect() {
    const t = now();
    if (this.state === "connecting") {
      this.spanStart = t;
      this.state = "live";
      live.add(this);
      this._opened(true);
      return;
    }
    if (this.state !== "down") return;
    if (this.socket.recovered) {
      events.recovered++;
      events.recovery_ms.push(t - this.downAt);
      this.recoveredAt = t;
    } else {
      events.not_recovered++;
      this.spans.push([this.spanStart, this.downAt]);
      this.downtimes.push([this.downAt, t]);
      this.spanStart = t;
    }
    this.state = "live";
    live.add(this);
  }

  onDisconnect(reason) {
    if (this.state !== "live") return;
    if (this.dropping) {
      this.dropping = false;
    } else {
      bump(events.unexpected_disconnects, reason);
      if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), 250);
    }
    this.state = "down";
    this.downAt = now();
    live.delete(this);
  }

  onConnectError(err) {
    const code = (err && err.data && err.data.code) || (err && err.message) || "unknown";
    bump(events.connect_errors, code);
    if (err && err.data && this.state !== "gone") {
      // Refused by the server (not a transport error): no retry from the client.
      if (this.state === "connecting") this._opened(false);
      else if (this.state === "down") this.spans.push([this.spanStart, this.downAt]);
      this.state = "failed";
      live.delete(this);
      this.manager.disconnect();
    }
  }

  onMessage(data) {
    const t = now();
    if (!data || typeof data.pub !== "number" || typeof data.seq !== "number") {
      totals.unknown++;
      return;
    }
    totals.received++;
    this.received++;
    if (this.recoveredAt !== null && data.t < this.recoveredAt) replayLatencies.push(t - data.t);
    else latencies.push(t - data.t);
    const m = messages.get(data.pub * KEY + data.seq);
    if (m === undefined) totals.unknown++;
    else if (m.recvT === null) m.recvT = t;
    let runs = this.runs.get(data.pub);
    if (runs === undefined) {
      this.runs.set(data.pub, [[data.seq, data.seq]]);
      return;
    }
    const last = runs[runs.length - 1];
    if (data.seq === last[1] + 1) last[1] = data.seq;
    else if (data.seq > last[1] + 1) runs.push([data.seq, data.seq]);
    else if (contains(runs, data.seq)) totals.duplicates++;
    else {
      // Older than the last one received and never seen: out of order.
      totals.reordered++;
      runs.push([data.seq, data.seq]);
      runs.sort((a, b) => a[0] - b[0]);
      const merged = [runs[0]];
      for (const r of runs.slice(1)) {
        const top = merged[merged.length - 1];
        if (r[0] <= top[1] + 1) top[1] = Math.max(top[1], r[1]);
        else merged.push(r);
      }
      this.runs.set(data.pub, merged);
    }
  }

  send(extra) {
    if (this.state !== "live" || !this.socket.connected) return false;
    const t = now();
    const m = { room: this.room, pub: this.uid, seq: this.seq++, emitT: t, ackT: null, recvT: null };
    messages.set(m.pub * KEY + m.seq, m);
    if (!byRoom.has(this.room)) byRoom.set(this.room, []);
    byRoom.get(this.room).push(m);
    totals.sent++;
    totals.pending_acks++;
    const payload = { text: "m", pub: m.pub, seq: m.seq, t, ...(extra || {}) };
    this.socket.timeout(cfg.ack_timeout_ms).emit("message", payload, (err, answer) => {
      totals.pending_acks--;
      if (err) bump(totals.ack_errors, err.message || String(err));
      else if (answer && answer.ok) {
        m.ackT = now();
        totals.acked++;
      } else totals.ack_refused++;
    });
    return true;
  }

  drop() {
    if (this.state !== "live" || !this.socket.connected || !this.manager.engine) return false;
    this.dropping = true;
    events.drops++;
    this.manager.engine.close(); // as a lost network does: no DISCONNECT packet
    return true;
  }

  leave() {
    if (this.state === "live") this.spans.push([this.spanStart, now()]);
    else if (this.state === "down") {
      events.still_reconnecting_at_end++;
      this.spans.push([this.spanStart, this.downAt]);
    }
    this.state = "gone";
    live.delete(this);
    this.socket.disconnect(); // ends the recovery session at once; the manager closes its engine
  }
}

// Open clients `concurrency` at a time; return how many subscribed.
async function openClients(rooms, opts) {
  let next = 0;
  let ok = 0;
  const made = [];
  async function worker() {
    while (next < rooms.length) {
      const c = new SioClient(rooms[next++], opts);
      made.push(c);
      const subscribed = await Promise.race([c.opened, sleep(cfg.connect_timeout_s * 1000).then(() => false)]);
      if (subscribed) ok++;
      else {
        events.join_failures++;
        if (c.state === "connecting") {
          c.state = "failed";
          c.manager.disconnect();
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.connect_concurrency, rooms.length) }, worker));
  return { ok, made };
}

const roomName = (i) => `r${i}`;
const randomRoom = () => roomName(Math.floor(Math.random() * cfg.rooms));
const FLOOD = "flood";
const REFUSED = "refused";

function pick(filter) {
  // A random live client passing `filter` (bounded tries, then a scan).
  const list = [...live];
  for (let i = 0; i < 20 && list.length; i++) {
    const c = list[Math.floor(Math.random() * list.length)];
    if (filter(c)) return c;
  }
  return list.find(filter) || null;
}

// ---------------------------------------------------------------- raw WebSocket clients

function rawSocket(onFrame) {
  const url = `${cfg.target.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: cfg.connect_timeout_s * 1000 });
  ws.on("message", (buf) => {
    const frame = buf.toString();
    if (frame === "2") {
      try {
        ws.send("3");
      } catch (err) {
        /* closing */
      }
    } else onFrame(frame);
  });
  ws.on("error", () => {});
  return ws;
}

function waitFrame(ws, frames, test, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), ms);
    const check = () => {
      const i = frames.findIndex(test);
      if (i >= 0) done(frames.splice(i, 1)[0]);
    };
    const poll = setInterval(check, 10);
    const onClose = () => done(null);
    ws.once("close", onClose);
    function done(value) {
      clearTimeout(timer);
      clearInterval(poll);
      ws.off("close", onClose);
      resolve(value);
    }
    check();
  });
}

// One slow consumer: subscribe to the flood room, stop reading, keep sending
// pongs; when the server's log says it ended the connection, read what is
// left and look for the `slow_consumer` error event.
async function slowConsumer(stopAt) {
  const ep = { started_s: round((now() - T0) / 1000, 1) };
  const frames = [];
  let stalled = false;
  let errorCode = null;
  let bytesAfter = 0;
  let framesAfter = 0;
  const ws = rawSocket((frame) => {
    if (!stalled) frames.push(frame);
    else {
      framesAfter++;
      bytesAfter += frame.length;
      if (frame.startsWith(`42/${cfg.channel}/${FLOOD},["error"`)) {
        try {
          errorCode = JSON.parse(frame.slice(frame.indexOf("["))).at(1).code;
        } catch (err) {
          errorCode = "unparsable";
        }
      }
    }
  });
  const closed = new Promise((resolve) => ws.once("close", (code) => resolve({ code, t: now() })));
  const open = await waitFrame(ws, frames, (f) => f.startsWith("0{"), cfg.connect_timeout_s * 1000);
  if (!open) {
    ws.terminate();
    return { ...ep, outcome: "could not connect" };
  }
  ep.sid = JSON.parse(open.slice(1)).sid;
  ws.send(`40/${cfg.channel}/${FLOOD},${JSON.stringify({ name: "stalled" })}`);
  const ok = await waitFrame(ws, frames, (f) => f.startsWith(`40/${cfg.channel}/${FLOOD},`) || f.startsWith(`44/${cfg.channel}/${FLOOD},`), cfg.connect_timeout_s * 1000);
  if (!ok || ok.startsWith("44")) {
    ws.terminate();
    return { ...ep, outcome: `not subscribed: ${ok}` };
  }
  stalled = true;
  const stalledAt = now();
  ws.pause(); // stop reading: the kernel buffers fill, then the server's queue
  const pongs = setInterval(() => {
    try {
      ws.send("3"); // alive, as far as pings go
    } catch (err) {
      /* closed */
    }
  }, 500);
  let line = null;
  let serverClosedFirst = false;
  ws.once("close", () => (serverClosedFirst = line === null));
  // The flood stops with the traffic: a verdict must come before.
  const limit = Math.min(stopAt, stalledAt + cfg.slow_timeout_s * 1000);
  while (line === null && now() < limit && ws.readyState === WebSocket.OPEN) {
    for (const l of newLogLines()) {
      if (l.includes(`Closing connection ${ep.sid}: slow consumer`)) line = l;
    }
    if (line === null) await sleep(100);
  }
  const decidedAt = now();
  clearInterval(pongs);
  ws.resume(); // read at full speed: the server gives it 2 s to read its notice
  const end = await Promise.race([closed, sleep(10000).then(() => null)]);
  if (!end) ws.terminate();
  const m = line && /slow consumer \((\d+) messages, (\d+) bytes queued[^;)]*(?:; full for ([\d.]+) s)?/.exec(line);
  return {
    ...ep,
    ended_by_server: line !== null,
    stall_to_verdict_s: line ? round((decidedAt - stalledAt) / 1000, 2) : null,
    queued_messages: m ? Number(m[1]) : null,
    queued_bytes: m ? Number(m[2]) : null,
    full_for_s: m && m[3] !== undefined ? Number(m[3]) : null,
    error_code: errorCode,
    frames_read_after: framesAfter,
    bytes_read_after: bytesAfter,
    closed_s_after_verdict: end ? round((end.t - decidedAt) / 1000, 2) : null,
    server_closed_before_verdict: serverClosedFirst,
    outcome: line === null ? (serverClosedFirst ? "closed without the log line" : "not ended in time") : errorCode === "slow_consumer" ? "slow_consumer" : `ended without the code (${errorCode})`,
  };
}

// The refused packets, each with the answer it must get ("connect_error:code"
// or "error:code"), and those that close the connection.
let unknownNo = 0;
const deep = (n) => "[".repeat(n) + "]".repeat(n);
const ch = (room) => `${cfg.channel}/${room}`;
const REFUSALS = [
  { kind: "unknown channel", packet: () => `40/nowhere-${unknownNo++},{}`, expect: "connect_error:channel_not_found" },
  { kind: "channel name too long", packet: () => `40/${"x".repeat(250)},{}`, expect: "connect_error:channel_not_found" },
  { kind: "no nickname", packet: () => `40/${ch("refused-b")},{"name":""}`, expect: "connect_error:name_required" },
  { kind: "event before subscribing", packet: () => `42/${ch("r0")},["message",{"text":"x"}]`, expect: "connect_error:not_subscribed" },
  { kind: "unknown event", packet: () => `42/${ch(REFUSED)},["nosuchevent",{}]`, expect: "error:unknown_event" },
  { kind: "reserved event", packet: () => `42/${ch(REFUSED)},["disconnect",{}]`, expect: "error:unknown_event" },
  { kind: "empty message", packet: () => `42/${ch(REFUSED)},["message",{"text":""}]`, expect: "error:invalid" },
  { kind: "two payloads", packet: () => `42/${ch(REFUSED)},["message",{"text":"x"},{"text":"y"}]`, expect: "error:invalid" },
  { kind: "payload too deep", packet: () => `42/${ch(REFUSED)},["message",{"text":"x","d":${deep(40)}}]`, expect: "error:invalid" },
];
const CLOSERS = [
  { kind: "not an Engine.IO packet", packet: () => "x" },
  { kind: "malformed Socket.IO packet", packet: () => "4x" },
  { kind: "bad JSON", packet: () => `42/${ch(REFUSED)},["message",{` },
  { kind: "over MAX_MESSAGE_SIZE", packet: () => `42/${ch(REFUSED)},["message",{"text":"${"y".repeat(120000)}"}]` },
];

async function refusedFlood(stopAt) {
  const r = {
    sent: {},
    answers: {},
    mismatched: 0,
    mismatch_samples: [],
    unanswered: 0,
    closers_sent: {},
    closed_as_expected: 0,
    closed_unexpectedly: 0,
    not_closed: 0,
    connections: 0,
    connect_failures: 0,
  };
  let n = 0;
  const period = 1000 / cfg.refused_rate;
  while (now() < stopAt) {
    const frames = [];
    const expected = [];
    let closedAt = null;
    const ws = rawSocket((frame) => {
      frames.push(frame);
      const m = /^4([24])(\/[^,]*),(.*)$/s.exec(frame);
      if (!m) return;
      let answer = null;
      try {
        const data = JSON.parse(m[3]);
        if (m[1] === "4") answer = `connect_error:${(data.data && data.data.code) || data.message}`;
        else if (Array.isArray(data) && data[0] === "error") answer = `error:${data[1] && data[1].code}`;
      } catch (err) {
        answer = "unparsable";
      }
      if (answer === null) return;
      bump(r.answers, answer);
      const want = expected.shift();
      if (!want || want.expect !== answer) {
        r.mismatched++;
        if (r.mismatch_samples.length < 10) r.mismatch_samples.push({ kind: want && want.kind, expected: want && want.expect, got: answer });
      }
    });
    ws.on("close", () => (closedAt = now()));
    const open = await waitFrame(ws, frames, (f) => f.startsWith("0{"), cfg.connect_timeout_s * 1000);
    const subscribed =
      open &&
      (ws.send(`40/${ch(REFUSED)},{"name":"refuser"}`),
      await waitFrame(ws, frames, (f) => f.startsWith(`40/${ch(REFUSED)},`), cfg.connect_timeout_s * 1000));
    if (!subscribed) {
      r.connect_failures++;
      ws.terminate();
      await sleep(1000);
      continue;
    }
    r.connections++;
    let sentCloser = false;
    let next = now();
    while (now() < stopAt && closedAt === null) {
      n++;
      if (n % cfg.refused_closer_every === 0) {
        const closer = CLOSERS[(n / cfg.refused_closer_every) % CLOSERS.length];
        // Let the answers to what was sent before arrive first.
        await waitFor(() => expected.length === 0 || closedAt !== null, 5000);
        bump(r.closers_sent, closer.kind);
        sentCloser = true;
        ws.send(closer.packet());
        await waitFor(() => closedAt !== null, 5000);
        if (closedAt !== null) r.closed_as_expected++;
        else r.not_closed++;
        break;
      }
      const refusal = REFUSALS[n % REFUSALS.length];
      bump(r.sent, refusal.kind);
      expected.push(refusal);
      ws.send(refusal.packet());
      next += period;
      await sleep(Math.max(0, next - now()));
    }
    if (closedAt !== null && !sentCloser) r.closed_unexpectedly++;
    await waitFor(() => expected.length === 0 || closedAt !== null, 3000);
    r.unanswered += expected.length;
    ws.terminate();
  }
  return r;
}

async function waitFor(done, maxMs) {
  const end = now() + maxMs;
  while (!done() && now() < end) await sleep(10);
  return done();
}

// ---------------------------------------------------------------- the judge

function judge() {
  const result = {
    expected: 0,
    delivered_of_expected: 0,
    gaps: 0,
    gap_samples: [],
    missed_across_unrecovered: 0,
    unconfirmed: 0,
  };
  for (const m of messages.values()) {
    m.confirmT = m.ackT === null ? m.recvT : m.recvT === null ? m.ackT : Math.min(m.ackT, m.recvT);
    if (m.confirmT === null) result.unconfirmed++;
  }
  for (const c of everyone) {
    const msgs = byRoom.get(c.room) || [];
    for (const [start, end] of c.spans) {
      for (const m of msgs) {
        if (m.emitT < start || m.confirmT === null || m.confirmT > end - cfg.grace_ms) continue;
        result.expected++;
        if (contains(c.runs.get(m.pub), m.seq)) result.delivered_of_expected++;
        else {
          result.gaps++;
          if (result.gap_samples.length < 20) {
            result.gap_samples.push({
              client: c.uid,
              room: c.room,
              pub: m.pub,
              seq: m.seq,
              emitted_s: round((m.emitT - T0) / 1000, 2),
              span_s: [round((start - T0) / 1000, 2), round((end - T0) / 1000, 2)],
              acked: m.ackT !== null,
            });
          }
        }
      }
    }
    for (const [from, to] of c.downtimes) {
      for (const m of msgs) {
        if (m.confirmT !== null && m.confirmT >= from - cfg.grace_ms && m.emitT < to && !contains(c.runs.get(m.pub), m.seq)) {
          result.missed_across_unrecovered++;
        }
      }
    }
  }
  return result;
}

function percentiles(values) {
  const s = Float64Array.from(values).sort();
  const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : null);
  return { count: s.length, p50_ms: round(at(0.5)), p99_ms: round(at(0.99)), p999_ms: round(at(0.999)), max_ms: round(s.length ? s[s.length - 1] : null) };
}

// ---------------------------------------------------------------- main

const out = { config: cfg, node: process.version, phases: {}, timeline: [], settle: [] };

function writeResult(extra) {
  const gen = process.cpuUsage();
  Object.assign(out, extra || {}, {
    loadgen_cpu_s: round((gen.user + gen.system) / 1e6, 1),
    wall_s: round((now() - T0) / 1000, 1),
  });
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
}

async function warmUp() {
  // Starts what the server starts on first use (its Engine.IO service task,
  // the recovery-session keeper), so that the baseline counts them.
  const { made } = await openClients(Array.from({ length: cfg.warmup_clients }, () => "warmup"), { judged: false });
  for (const c of made.slice(0, 5)) c.send();
  made[0] && made[0].drop();
  await sleep(2000);
  const ws = rawSocket(() => {});
  await new Promise((resolve) => ws.once("open", resolve));
  ws.send("40/nowhere-warmup,{}");
  await sleep(500);
  ws.terminate();
  for (const c of made) if (c.state !== "gone") c.leave();
  live.clear();
}

async function main() {
  out.phases.cold = await getStats("cold");
  log("cold", JSON.stringify(out.phases.cold));
  await warmUp();
  // python-engineio's ping greenlet of a closed socket sleeps out its ping
  // interval before it ends: wait for the warm-up's to end.
  const warm = await getStats("warm");
  await sleep(((warm.ping_interval_s || 25) + 5) * 1000);
  out.phases.start = await getStats("start");
  log("start", JSON.stringify(out.phases.start));

  // The clients: the flood room's members first (the first one publishes), then the rooms.
  const rooms = [];
  for (let i = 0; i < cfg.clients; i++) rooms.push(i < cfg.flood_members ? FLOOD : roomName((i - cfg.flood_members) % cfg.rooms));
  const t0 = now();
  const opened = await openClients(rooms);
  out.connect = { wanted: cfg.clients, subscribed: opened.ok, seconds: round((now() - t0) / 1000, 1) };
  log(`subscribed ${opened.ok}/${cfg.clients} in ${out.connect.seconds}s`);
  const floodPublisher = opened.made[0];

  const trafficStart = now();
  const trafficEnd = trafficStart + cfg.minutes * 60000;
  const middleAt = trafficStart + (cfg.minutes * 60000) / 2;
  out.traffic_started_s = round((trafficStart - T0) / 1000, 1);

  // The raw clients run alongside.
  const slow = (async () => {
    const episodes = [];
    while (now() < trafficEnd - cfg.slow_min_left_s * 1000) {
      const ep = await slowConsumer(trafficEnd);
      episodes.push(ep);
      log("slow consumer", JSON.stringify(ep));
      await sleep(Math.min(cfg.slow_pause_s * 1000, Math.max(0, trafficEnd - now())));
    }
    return episodes;
  })();
  const refused = refusedFlood(trafficEnd);

  // Messages, churn, drops, flood, timeline and the middle reading, on one clock.
  let msgDue = 0;
  let floodDue = 0;
  let churnDue = 0;
  let dropDue = 0;
  let nextTimeline = trafficStart;
  let ticks0 = serverTicks();
  let tTicks = now();
  let cpu0 = process.cpuUsage();
  let middleTaken = false;
  let middle = Promise.resolve();
  const normal = (c) => c.room !== FLOOD && c.state === "live";
  while (now() < trafficEnd && serverAlive()) {
    const elapsed = (now() - trafficStart) / 1000;
    for (; msgDue < Math.floor(elapsed * cfg.message_rate); msgDue++) {
      const c = pick(normal);
      if (c) c.send();
    }
    for (; floodDue < Math.floor(elapsed * cfg.flood_rate); floodDue++) {
      floodPublisher.send({ pad: "f".repeat(cfg.flood_bytes) });
    }
    for (; churnDue < Math.floor(elapsed * cfg.churn_per_s); churnDue++) {
      const c = pick((x) => x.state === "live" && x !== floodPublisher);
      if (c) {
        c.leave();
        events.leaves++;
        const room = c.room === FLOOD ? FLOOD : randomRoom();
        const joiner = new SioClient(room);
        events.joins++;
        joiner.opened.then((ok) => ok || events.join_failures++);
      }
    }
    for (; dropDue < Math.floor(elapsed * cfg.drops_per_s); dropDue++) {
      const c = pick((x) => x.state === "live");
      if (c) c.drop();
    }
    if (now() >= nextTimeline) {
      const ticks = serverTicks();
      out.timeline.push({
        t_s: round(elapsed, 1),
        rss_kb: serverRssKb(),
        server_cpu_pct: ticks === null || ticks0 === null ? null : round((100 * (ticks - ticks0)) / CLK_TCK / ((now() - tTicks) / 1000), 1),
        clients_cpu_pct: round((100 * ((cpu => cpu.user + cpu.system)(process.cpuUsage(cpu0)))) / 1000 / (now() - tTicks), 1),
        loadavg_1m: round(os.loadavg()[0], 2),
        live_clients: live.size,
        sent: totals.sent,
        received: totals.received,
      });
      ticks0 = ticks;
      tTicks = now();
      cpu0 = process.cpuUsage();
      nextTimeline += cfg.timeline_s * 1000;
    }
    if (!middleTaken && now() >= middleAt) {
      // Not awaited: the traffic goes on while the server counts.
      middleTaken = true;
      const liveNow = live.size;
      middle = getStats("middle").then((stats) => {
        out.phases.middle = { ...stats, live_clients: liveNow };
        log("middle", JSON.stringify(out.phases.middle));
      });
    }
    await sleep(20);
  }
  log(`traffic over: sent ${totals.sent}, received ${totals.received}`);
  await middle;
  out.slow_consumers = await slow;
  out.refused = await refused;

  // Drain: acknowledgements, reconnections, then quiet.
  await waitFor(() => totals.pending_acks === 0 && everyone.every((c) => c.state !== "down"), 20000);
  // Then until no delivery arrived for 2 s (at most 20 s).
  const quietEnd = now() + 20000;
  let seen = -1;
  let since = now();
  while (now() < quietEnd && now() - since < 2000) {
    if (totals.received !== seen) {
      seen = totals.received;
      since = now();
    }
    await sleep(50);
  }
  out.phases.end_of_traffic = await getStats("end_of_traffic");
  out.phases.end_of_traffic.live_clients = live.size;
  log("end of traffic", JSON.stringify(out.phases.end_of_traffic));

  for (const c of everyone) if (c.state === "live" || c.state === "down" || c.state === "connecting") c.leave();
  const leftAt = now();

  // Settle: until the greenlets are back to the start's and no socket is left, or settle_max_s.
  const baseline = out.phases.start.greenlets_alive;
  let last = null;
  while (now() - leftAt < cfg.settle_max_s * 1000) {
    await sleep(cfg.settle_poll_s * 1000);
    last = await getStats("settle");
    last.after_leaving_s = round((now() - leftAt) / 1000, 1);
    out.settle.push({ t_s: last.after_leaving_s, rss_kb: last.rss_kb, greenlets_alive: last.greenlets_alive, engineio_sockets: last.engineio_sockets, subscriptions: last.subscriptions });
    if (!last.error && last.greenlets_alive <= baseline && !last.engineio_sockets && !last.subscriptions) break;
  }
  out.phases.end = { ...(last || (await getStats("end"))), label: "end" };
  log("end", JSON.stringify(out.phases.end));

  const judged = judge();
  out.deliveries = {
    sent: totals.sent,
    acked: totals.acked,
    ack_errors: totals.ack_errors,
    ack_refused: totals.ack_refused,
    unconfirmed: judged.unconfirmed,
    expected: judged.expected,
    delivered_of_expected: judged.delivered_of_expected,
    received: totals.received,
    gaps: judged.gaps,
    duplicates: totals.duplicates,
    reordered: totals.reordered,
    unknown: totals.unknown,
    missed_across_unrecovered: judged.missed_across_unrecovered,
    gap_samples: judged.gap_samples,
    latency: percentiles(latencies),
    replay_latency: percentiles(replayLatencies),
  };
  out.events = { ...events, recovery_ms: percentiles(events.recovery_ms), clients_made: everyone.length };
  out.server_alive = serverAlive();
  log("deliveries", JSON.stringify(out.deliveries));
  log("events", JSON.stringify(out.events));
}

const watchdog = setTimeout(() => {
  log(`deadline of ${cfg.deadline_s}s reached: giving up`);
  writeResult({ error: "soak deadline reached" });
  process.exit(2);
}, cfg.deadline_s * 1000);

main()
  .then(() => {
    clearTimeout(watchdog);
    writeResult();
    setTimeout(() => process.exit(0), 200);
  })
  .catch((err) => {
    log(err.stack || err);
    writeResult({ error: String(err.message || err) });
    process.exit(1);
  });
