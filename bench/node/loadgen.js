// The bench's load generator (bench only): Node + ws, speaking Engine.IO v4 /
// Socket.IO v5 framing itself ("sio") or plain JSON websockets (Django
// Channels, "json").
//
//   node loadgen.js CONFIG.json OUT.json
//
// CONFIG (written by bench/bench.py) names the workload ("fanout", "idle",
// "rooms"), the protocol, the server URLs ("targets"; connections are spread
// over them round-robin, the publisher on the first) and the server pids whose
// CPU and RSS are read from /proc. Every delivery is checked: per publisher
// sequence numbers must arrive in order, once, and all of them; latency comes
// from the publisher's timestamp in the payload. The result, with this
// process's own CPU (process.cpuUsage), goes to OUT.json.
//
// Every loop is bounded in count and time: per-connection timeouts, bounded
// drains, a step count bounded by the rate range, and a global watchdog
// (deadline_s) after which the partial result is written and the process exits.
"use strict";

const fs = require("fs");
const { execSync } = require("child_process");
const { performance } = require("perf_hooks");
const WebSocket = require("ws");

const [configPath, outPath] = process.argv.slice(2);
if (!configPath || !outPath) {
  console.error("usage: node loadgen.js CONFIG.json OUT.json");
  process.exit(64);
}
const cfg = Object.assign(
  {
    protocol: "sio",
    room: "bench",
    concurrency: 100,
    connect_timeout_s: 30,
    connect_attempts: 2,
    p99_limit_ms: 100,
    deadline_s: 300,
    server_pids: [],
  },
  JSON.parse(fs.readFileSync(configPath, "utf8"))
);

const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error(`[loadgen ${cfg.workload}]`, ...args);

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;
} catch (err) {
  /* keep 100 */
}

// ---------------------------------------------------------------- /proc

function serverTicks() {
  let total = 0;
  for (const pid of cfg.server_pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    } catch (err) {
      /* the server died: counted as no CPU */
    }
  }
  return total;
}

function serverRssKb() {
  let total = 0;
  for (const pid of cfg.server_pids) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]);
    } catch (err) {
      /* gone */
    }
  }
  return total;
}

function serverAlive() {
  return cfg.server_pids.every((pid) => fs.existsSync(`/proc/${pid}`));
}

// TCP segments this machine has sent (both directions of every loopback
// connection), from /proc/net/snmp; null where it cannot be read.
function tcpOutSegments() {
  try {
    const lines = fs.readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Tcp:"));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf("OutSegs")]);
  } catch (err) {
    return null;
  }
}

// A CPU window over the server(s) and this generator.
function cpuWindow() {
  const t0 = now();
  const s0 = serverTicks();
  const g0 = process.cpuUsage();
  return () => {
    const wall = (now() - t0) / 1000;
    const g = process.cpuUsage(g0);
    return {
      wall_s: wall,
      server_cpu_pct: wall > 0 ? (100 * (serverTicks() - s0)) / CLK_TCK / wall : null,
      loadgen_cpu_pct: wall > 0 ? (100 * (g.user + g.system)) / 1e6 / wall : null,
    };
  };
}

// ---------------------------------------------------------------- clients

let onDelivery = () => {};
const allClients = [];

class Client {
  constructor(index, target, room) {
    this.index = index;
    this.target = target;
    this.room = room;
    this.name = `c${index}`;
    this.ns = `/rooms/${room}`;
    this.last = new Map(); // publisher -> last sequence number received
    this.ws = null;
    this.subscribed = false;
    this.closed = false;
  }

  url() {
    if (cfg.protocol === "sio") return `${this.target}/socket.io/?EIO=4&transport=websocket`;
    return `${this.target}/ws/rooms/${this.room}/?name=${encodeURIComponent(this.name)}`;
  }

  connect(timeoutMs) {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          try {
            ws.terminate();
          } catch (e) {
            /* ignore */
          }
          reject(err);
        } else {
          this.subscribed = true;
          resolve();
        }
      };
      const timer = setTimeout(() => finish(new Error("subscribe timeout")), timeoutMs);
      const ws = new WebSocket(this.url(), { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.ws = ws;
      ws.on("error", (err) => finish(err));
      ws.on("close", () => {
        this.closed = true;
        this.subscribed = false;
        finish(new Error("closed before subscribing"));
      });
      if (cfg.protocol === "json") {
        ws.on("open", () => finish(null));
        ws.on("message", (buf) => this.onJson(buf.toString()));
      } else {
        ws.on("message", (buf) => this.onSio(buf.toString(), finish));
      }
    });
  }

  onSio(data, finish) {
    const type = data.charCodeAt(0);
    if (type === 52 /* '4' message */) {
      const sub = data.charCodeAt(1);
      if (sub === 50 /* '2' EVENT */) {
        const at = data.indexOf("[");
        if (at < 0) return;
        const packet = JSON.parse(data.slice(at));
        if (packet[0] === "message") this.deliver(packet[1]);
      } else if (sub === 48 /* '0' CONNECT */) {
        finish(null);
      } else if (sub === 52 /* '4' CONNECT_ERROR */) {
        finish(new Error(`connect_error ${data.slice(2, 200)}`));
      } else if (sub === 49 /* '1' DISCONNECT */) {
        this.subscribed = false;
      }
    } else if (type === 50 /* '2' ping */) {
      this.ws.send("3");
    } else if (type === 48 /* '0' open */) {
      this.ws.send(`40${this.ns},${JSON.stringify({ name: this.name })}`);
    } else if (type === 49 /* '1' close */) {
      this.subscribed = false;
    }
  }

  onJson(data) {
    const msg = JSON.parse(data);
    if (msg && msg.seq !== undefined) this.deliver(msg);
  }

  deliver(payload) {
    onDelivery(this, payload, now());
  }

  publish(payload) {
    if (cfg.protocol === "sio") this.ws.send(`42${this.ns},${JSON.stringify(["message", payload])}`);
    else this.ws.send(JSON.stringify(payload));
  }

  close() {
    if (this.ws) {
      try {
        this.ws.terminate();
      } catch (err) {
        /* ignore */
      }
    }
  }
}

// Open `count` subscribed clients (room chosen by roomOf(i)), `concurrency` at
// a time; returns {clients, failed, elapsed_s, rate}.
async function openClients(count, roomOf, firstIndex = 0) {
  const clients = new Array(count);
  let next = 0;
  let failed = 0;
  let lastError = null;
  const t0 = now();
  const budgetEnd = t0 + cfg.connect_timeout_s * 1000 * Math.max(1, Math.ceil(count / cfg.concurrency));
  async function worker() {
    while (next < count && now() < budgetEnd) {
      const i = next++;
      const index = firstIndex + i;
      const target = cfg.targets[index % cfg.targets.length];
      let ok = false;
      for (let attempt = 0; attempt < cfg.connect_attempts && !ok; attempt++) {
        const c = new Client(index, target, roomOf(i));
        try {
          await c.connect(cfg.connect_timeout_s * 1000);
          clients[i] = c;
          allClients.push(c);
          ok = true;
        } catch (err) {
          lastError = err.message || String(err);
        }
      }
      if (!ok) failed++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, count) }, worker));
  const elapsed = (now() - t0) / 1000;
  const opened = clients.filter(Boolean);
  return {
    clients: opened,
    failed: failed + (count - next > 0 ? count - next : 0),
    last_error: lastError,
    elapsed_s: elapsed,
    rate: opened.length / elapsed,
  };
}

function closeAll() {
  for (const c of allClients) c.close();
}

// ---------------------------------------------------------------- statistics

function percentile(sorted, q) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summarize(latencies) {
  const s = Float64Array.from(latencies).sort();
  return {
    p50_ms: percentile(s, 0.5),
    p99_ms: percentile(s, 0.99),
    max_ms: s.length ? s[s.length - 1] : null,
  };
}

const round = (x, digits = 2) => (x === null || x === undefined ? x : Number(x.toFixed(digits)));

// Delivery bookkeeping shared by the workloads: per (receiver, publisher)
// ordering, per publish delivery counts, latencies bucketed by "tag".
class Ledger {
  constructor() {
    this.counts = new Map(); // `${pub}:${seq}` -> deliveries (only for tracked tags)
    this.latency = new Map(); // tag -> [ms]
    this.received = new Map(); // tag -> deliveries
    this.lastAt = new Map(); // tag -> time of the last delivery
    this.duplicates = 0;
    this.reordered = 0;
    this.untracked = 0;
  }

  track(tag) {
    this.latency.set(tag, []);
    this.received.set(tag, 0);
  }

  onDelivery(client, p, t) {
    const last = client.last.get(p.pub);
    if (last !== undefined && p.seq <= last) {
      if (p.seq === last) this.duplicates++;
      else this.reordered++;
    } else {
      client.last.set(p.pub, p.seq);
    }
    const lat = this.latency.get(p.tag);
    if (lat === undefined) {
      this.untracked++;
      return;
    }
    lat.push(t - p.t);
    this.received.set(p.tag, this.received.get(p.tag) + 1);
    this.lastAt.set(p.tag, t);
    const key = p.pub * 4294967296 + p.seq;
    this.counts.set(key, (this.counts.get(key) || 0) + 1);
  }

  // Deliveries of `tag` beyond `expectedPer` for one publish.
  extra(publishes, expectedPer) {
    let extra = 0;
    for (const [pub, seq] of publishes) {
      const n = this.counts.get(pub * 4294967296 + seq) || 0;
      if (n > expectedPer) extra += n - expectedPer;
    }
    return extra;
  }

  forget(tag, publishes) {
    this.latency.delete(tag);
    for (const [pub, seq] of publishes || []) this.counts.delete(pub * 4294967296 + seq);
  }
}

// Wait until `done()` or `maxMs`, polling every 10 ms.
async function waitFor(done, maxMs) {
  const end = now() + maxMs;
  while (!done() && now() < end) await sleep(10);
  return done();
}

// Wait until no delivery arrived for `quietMs` (at most `maxMs`).
async function waitQuiet(ledger, quietMs, maxMs) {
  const end = now() + maxMs;
  let seen = -1;
  let since = now();
  while (now() < end) {
    const total = ledger.untracked + [...ledger.received.values()].reduce((a, b) => a + b, 0);
    if (total !== seen) {
      seen = total;
      since = now();
    } else if (now() - since >= quietMs) return true;
    await sleep(25);
  }
  return false;
}

// After an overload the server may still be working through a backlog that
// delivers nothing (a Channels layer drops what overflows): wait until its CPU
// falls quiet, so that the next step does not pay for the previous one.
async function waitServerIdle(maxMs, idlePct = 20) {
  const end = now() + maxMs;
  while (now() < end && serverAlive()) {
    const window = cpuWindow();
    await sleep(250);
    if (window().server_cpu_pct < idlePct) return true;
  }
  return false;
}

// ---------------------------------------------------------------- fan-out

async function fanout() {
  const n = cfg.n;
  const opened = await openClients(n, () => cfg.room);
  const result = {
    n,
    connect: { opened: opened.clients.length, failed: opened.failed, elapsed_s: round(opened.elapsed_s, 3), last_error: opened.last_error },
    steps: [],
    best: null,
    fixed: null,
  };
  if (opened.clients.length < n) {
    result.error = `only ${opened.clients.length}/${n} subscribers connected (${opened.last_error})`;
    return result;
  }
  const subs = opened.clients;
  const publisher = subs[0]; // one of the N subscribers; every subscriber receives, the publisher included
  const ledger = new Ledger();
  onDelivery = (client, p, t) => ledger.onDelivery(client, p, t);
  let seq = 0;
  let tagNo = 0;
  const deadline = t_start + cfg.deadline_s * 1000;

  async function step(offered, purpose) {
    const pubRate = offered / n; // publishes per second
    // At least min_publishes publishes, but no step longer than max_step_s.
    const duration =
      purpose === "warmup"
        ? Math.min(0.5, cfg.step_s)
        : Math.max(cfg.step_s, Math.min(cfg.min_publishes / pubRate, cfg.max_step_s));
    const total = Math.max(1, Math.round(pubRate * duration));
    const tag = ++tagNo;
    ledger.track(tag);
    const dup0 = ledger.duplicates;
    const reo0 = ledger.reordered;
    const publishes = [];
    const window = cpuWindow();
    const segments0 = tcpOutSegments();
    const start = now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((now() - start) / 1000) * pubRate) + 1);
      while (sent < due) {
        const s = seq++;
        publishes.push([0, s]);
        publisher.publish({ text: "x", pub: 0, seq: s, tag, t: now() });
        sent++;
      }
      if (sent < total) await sleep(1);
      if (now() - start > duration * 1000 * 3 + 5000) break; // the generator cannot keep up: bounded
    }
    const sendS = (now() - start) / 1000;
    const cpu = window();
    const expected = sent * n;
    await waitFor(() => ledger.received.get(tag) >= expected, cfg.drain_s * 1000);
    const received = ledger.received.get(tag);
    const segments = segments0 === null ? null : tcpOutSegments() - segments0;
    const lat = summarize(ledger.latency.get(tag));
    const lastAt = ledger.lastAt.get(tag) || now();
    const extra = ledger.extra(publishes, n);
    const r = {
      purpose,
      offered_deliveries_per_s: offered,
      publishes: sent,
      publish_rate: round(sent / sendS, 1),
      generator_kept_up: sent / sendS >= 0.95 * pubRate,
      duration_s: round(sendS, 3),
      expected,
      received,
      lost: Math.max(0, expected - (received - extra)),
      duplicates: ledger.duplicates - dup0 + extra,
      reordered: ledger.reordered - reo0,
      delivered_per_s: round(received / Math.max(sendS, (lastAt - start) / 1000), 0),
      p50_ms: round(lat.p50_ms),
      p99_ms: round(lat.p99_ms),
      max_ms: round(lat.max_ms),
      server_cpu_pct: round(cpu.server_cpu_pct, 1),
      loadgen_cpu_pct: round(cpu.loadgen_cpu_pct, 1),
      server_rss_kb: serverRssKb(),
      // Includes acknowledgements and the publisher's own traffic.
      tcp_segments_per_delivery: segments === null || !received ? null : round(segments / received, 2),
    };
    r.pass =
      r.lost === 0 && r.duplicates === 0 && r.reordered === 0 && r.p99_ms !== null && r.p99_ms < cfg.p99_limit_ms && r.generator_kept_up;
    r.latency_only = !r.pass && r.lost === 0 && r.duplicates === 0 && r.reordered === 0 && r.generator_kept_up;
    // A machine stall delays some deliveries (p99) but not most of them (p50):
    // only such a failure is worth a second try; an overloaded server fails again.
    r.stall_like = r.latency_only && r.p50_ms !== null && r.p50_ms < cfg.p99_limit_ms / 2;
    ledger.forget(tag, publishes);
    if (r.lost > 0 || !r.pass) {
      // Let a backlog drain: deliveries first, then the server's own work.
      await waitQuiet(ledger, 300, cfg.quiet_s * 1000);
      r.server_idle_after = await waitServerIdle(cfg.quiet_s * 6 * 1000);
    }
    result.steps.push(r);
    log(
      `N=${n} ${purpose} offered ${offered}/s: delivered ${r.delivered_per_s}/s p50 ${r.p50_ms} p99 ${r.p99_ms} ms` +
        ` lost ${r.lost} dup ${r.duplicates} reord ${r.reordered} cpu ${r.server_cpu_pct}% gen ${r.loadgen_cpu_pct}% segs ${r.tcp_segments_per_delivery} -> ${r.pass ? "pass" : "FAIL"}`
    );
    return r;
  }

  async function trial(offered, purpose) {
    let r = await step(offered, purpose);
    if (!r.pass && r.stall_like && cfg.rerun_latency_failures && serverAlive() && now() < deadline) {
      r = await step(offered, purpose + "-rerun"); // one machine stall can fail a step
    }
    return r;
  }

  // Warm up (first-use costs, buffers) at the starting rate; not judged.
  await step(cfg.start_deliveries, "warmup");

  // A load every Python server carries without saturating, measured before
  // any overload can leave a backlog: its CPU per delivery is the cost of the
  // per-message path, free of the search's noise.
  if (cfg.moderate_deliveries && now() < deadline && serverAlive()) {
    result.moderate = await step(cfg.moderate_deliveries, "moderate");
  }

  // Step the offered rate up (doubling), then bisect between the last pass and the first failure.
  let lo = null;
  let hi = null;
  let rate = cfg.start_deliveries;
  for (let i = 0; i < 30 && rate <= cfg.max_deliveries && now() < deadline && serverAlive(); i++) {
    const r = await trial(rate, "search");
    if (r.pass) {
      lo = r;
      rate *= 2;
    } else {
      hi = rate;
      break;
    }
  }
  if (lo === null && hi !== null) {
    // Not even the first rate: step down.
    for (let i = 0; i < cfg.max_down_steps && now() < deadline && serverAlive(); i++) {
      rate = Math.round(hi / 2);
      if (rate < cfg.min_deliveries) break;
      const r = await trial(rate, "search-down");
      if (r.pass) {
        lo = r;
        break;
      }
      hi = rate;
      if (r.lost === 0 && r.p50_ms !== null && r.p50_ms >= cfg.p99_limit_ms && r.server_cpu_pct !== null && r.server_cpu_pct < 50) {
        // Half the deliveries late on an idle-ish server: a single broadcast to
        // N takes longer than the limit, whatever the rate. Stop here.
        result.latency_bound = true;
        break;
      }
    }
  }
  if (lo !== null && hi !== null) {
    for (let i = 0; i < cfg.bisect && now() < deadline && serverAlive(); i++) {
      const mid = Math.round((lo.offered_deliveries_per_s + hi) / 2 / 10) * 10;
      if (mid <= lo.offered_deliveries_per_s || mid >= hi) break;
      const r = await trial(mid, "bisect");
      if (r.pass) lo = r;
      else hi = mid;
    }
  }
  result.best = lo;
  result.first_fail = hi;
  result.search_capped = hi === null && lo !== null; // passed up to max_deliveries
  if (cfg.fixed_deliveries && now() < deadline && serverAlive()) {
    result.fixed = await step(cfg.fixed_deliveries, "fixed");
  }

  result.server_alive = serverAlive();
  return result;
}

// ---------------------------------------------------------------- idle

async function idle() {
  const k = cfg.k;
  // Warm the server up (imports, first-request work), then measure.
  const warm = await openClients(cfg.warmup_clients, () => cfg.room, 1000000);
  for (const c of warm.clients) c.close();
  await sleep(500);
  const rssBefore = serverRssKb();
  const window = cpuWindow();
  const opened = await openClients(k, () => cfg.room);
  const cpu = window();
  await sleep(cfg.settle_s * 1000);
  const rssAfter = serverRssKb();
  const alive = opened.clients.filter((c) => c.subscribed && !c.closed).length;
  return {
    k,
    opened: opened.clients.length,
    failed: opened.failed,
    last_error: opened.last_error,
    still_open: alive,
    connect_s: round(opened.elapsed_s, 3),
    connections_per_s: round(opened.rate, 1),
    rss_before_kb: rssBefore,
    rss_after_kb: rssAfter,
    rss_per_conn_kb: opened.clients.length ? round((rssAfter - rssBefore) / opened.clients.length, 2) : null,
    server_cpu_pct: round(cpu.server_cpu_pct, 1),
    loadgen_cpu_pct: round(cpu.loadgen_cpu_pct, 1),
    server_alive: serverAlive(),
  };
}

// ---------------------------------------------------------------- reconnect storm

// K idle clients, then every one's connection drops at once (terminated, as
// when a server or a network goes away) and all K reconnect at the same
// moment: how long the server takes to absorb them.
async function storm() {
  const k = cfg.k;
  const warm = await openClients(cfg.warmup_clients, () => cfg.room, 1000000);
  for (const c of warm.clients) c.close();
  const first = await openClients(k, () => cfg.room);
  await sleep(cfg.settle_s * 1000);
  for (const c of first.clients) c.close();
  // Let the server end the dropped connections first (a teardown each).
  await waitServerIdle(cfg.settle_s * 6 * 1000);
  const concurrency = cfg.concurrency;
  cfg.concurrency = k; // every client at once
  const window = cpuWindow();
  const again = await openClients(k, () => cfg.room, 2000000);
  const cpu = window();
  cfg.concurrency = concurrency;
  return {
    k,
    opened: first.clients.length,
    reconnected: again.clients.length,
    failed: again.failed,
    last_error: again.last_error,
    storm_s: round(again.elapsed_s, 3),
    storm_per_s: round(again.rate, 1),
    server_cpu_pct: round(cpu.server_cpu_pct, 1),
    server_alive: serverAlive(),
  };
}

// ---------------------------------------------------------------- many rooms

async function rooms() {
  const perRoom = cfg.per_room;
  const total = cfg.rooms * perRoom;
  const opened = await openClients(total, (i) => `r${Math.floor(i / perRoom)}`);
  const result = {
    rooms: cfg.rooms,
    per_room: perRoom,
    clients: total,
    offered_deliveries_per_s: total * cfg.rate_per_client * perRoom,
    connect: { opened: opened.clients.length, failed: opened.failed, elapsed_s: round(opened.elapsed_s, 3), last_error: opened.last_error },
  };
  if (opened.clients.length < total) {
    result.error = `only ${opened.clients.length}/${total} clients connected (${opened.last_error})`;
    return result;
  }
  const clients = opened.clients;
  const roomSize = new Map();
  for (const c of clients) roomSize.set(c.room, (roomSize.get(c.room) || 0) + 1);
  const ledger = new Ledger();
  onDelivery = (client, p, t) => ledger.onDelivery(client, p, t);
  const WARM = 1;
  const MEASURE = 2;
  ledger.track(WARM);
  ledger.track(MEASURE);
  const periodMs = 1000 / cfg.rate_per_client;
  const seqs = new Int32Array(clients.length);
  const nextAt = new Float64Array(clients.length);
  const start = now();
  for (let i = 0; i < clients.length; i++) nextAt[i] = start + Math.random() * periodMs;
  const measureStart = start + cfg.warmup_s * 1000;
  const measureEnd = measureStart + cfg.measure_s * 1000;
  const measured = [];
  let expected = 0;
  let window = null;
  let cpu = null;
  let behind = 0;
  while (now() < measureEnd) {
    const t = now();
    if (window === null && t >= measureStart) window = cpuWindow();
    for (let i = 0; i < clients.length; i++) {
      if (nextAt[i] > t) continue;
      if (t - nextAt[i] > 50) behind++;
      const c = clients[i];
      const tag = nextAt[i] >= measureStart && nextAt[i] < measureEnd ? MEASURE : WARM;
      const s = seqs[i]++;
      c.publish({ text: "x", pub: c.index, seq: s, tag, t: now() });
      if (tag === MEASURE) {
        measured.push([c.index, s]);
        expected += roomSize.get(c.room);
      }
      nextAt[i] += periodMs;
    }
    await sleep(5);
  }
  cpu = window();
  await waitFor(() => ledger.received.get(MEASURE) >= expected, cfg.drain_s * 1000);
  const received = ledger.received.get(MEASURE);
  const lat = summarize(ledger.latency.get(MEASURE));
  const extra = ledger.extra(measured, perRoom);
  // Deliveries past the limit count as late: "in time" means under p99_limit_ms.
  const inTime = ledger.latency.get(MEASURE).filter((x) => x < cfg.p99_limit_ms).length;
  Object.assign(result, {
    publishes: measured.length,
    publish_rate: round(measured.length / cfg.measure_s, 1),
    expected,
    received,
    missing: Math.max(0, expected - (received - extra)),
    delivered_in_time: inTime,
    duplicates: ledger.duplicates + extra,
    reordered: ledger.reordered,
    late_sends: behind,
    delivered_per_s: round(received / cfg.measure_s, 0),
    p50_ms: round(lat.p50_ms),
    p99_ms: round(lat.p99_ms),
    max_ms: round(lat.max_ms),
    server_cpu_pct: round(cpu.server_cpu_pct, 1),
    loadgen_cpu_pct: round(cpu.loadgen_cpu_pct, 1),
    server_rss_kb: serverRssKb(),
    server_alive: serverAlive(),
  });
  log(
    `${cfg.rooms}x${perRoom}: delivered ${received}/${expected} p50 ${result.p50_ms} p99 ${result.p99_ms} ms ` +
      `cpu ${result.server_cpu_pct}% gen ${result.loadgen_cpu_pct}%`
  );
  return result;
}

// ---------------------------------------------------------------- main

const t_start = now();
const workloads = { fanout, idle, rooms, storm };

function writeResult(result) {
  const gen = process.cpuUsage();
  const out = {
    config: cfg,
    node: process.version,
    clk_tck: CLK_TCK,
    loadgen_cpu_total_s: round((gen.user + gen.system) / 1e6, 3),
    wall_s: round((now() - t_start) / 1000, 3),
    ...result,
  };
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1));
}

const watchdog = setTimeout(() => {
  log(`deadline of ${cfg.deadline_s + 60}s reached: giving up`);
  writeResult({ error: "loadgen deadline reached" });
  closeAll();
  process.exit(2);
}, (cfg.deadline_s + 60) * 1000);

(async () => {
  const run = workloads[cfg.workload];
  if (!run) throw new Error(`unknown workload ${cfg.workload}`);
  const result = await run();
  clearTimeout(watchdog);
  writeResult(result);
  closeAll();
  setTimeout(() => process.exit(0), 100);
})().catch((err) => {
  log(err.stack || err);
  try {
    writeResult({ error: String(err.message || err) });
  } catch (e) {
    /* ignore */
  }
  closeAll();
  process.exit(1);
});
