/*
 * live.js: the live channels page of the Django admin (socketio_views.admin).
 *
 * Subscribes to the staff-only channel with SocketIOViews.subscribe(), keeps
 * the last snapshot of every process (dropping those that stop arriving),
 * and renders their sum. Text is only ever set with textContent.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("live-channels-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  // A process whose snapshots stop arriving is dropped after this many milliseconds.
  const STALE_AFTER = (config.interval * 3 + 2) * 1000;
  const snapshots = new Map(); // process -> {snapshot, at}
  let selected = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cell(row, text, attrs) {
    row.appendChild(el("td", attrs, text));
  }

  function say(text, level) {
    const list = $("live-messages");
    const item = el("li", { class: level || "info" }, text);
    list.replaceChildren(item);
  }

  function status(state, text) {
    const node = $("live-status");
    node.dataset.state = state;
    node.textContent = text;
  }

  function fmt(rate) {
    return (Math.round(rate * 100) / 100).toString();
  }

  /** Draw `values` as a polyline in `svg` (a viewBox of width x height). */
  function chart(svg, values, width, height) {
    svg.replaceChildren();
    const max = Math.max(1, ...values);
    const step = values.length > 1 ? width / (values.length - 1) : width;
    const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
    const base = document.createElementNS(SVG, "line");
    base.setAttribute("x1", "0");
    base.setAttribute("x2", String(width));
    base.setAttribute("y1", String(height - 0.5));
    base.setAttribute("y2", String(height - 0.5));
    svg.appendChild(base);
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `max ${max} messages/s`;
    svg.appendChild(title);
  }

  function spark(values) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "live-spark");
    svg.setAttribute("viewBox", "0 0 120 24");
    svg.setAttribute("preserveAspectRatio", "none");
    chart(svg, values, 120, 24);
    return svg;
  }

  /** The sum of every fresh snapshot: routes, channels (with their subscriptions by process), rates by second. */
  function merge() {
    const now = Date.now();
    const routes = new Map();
    const channels = new Map();
    const processes = [];
    let last = 0;
    for (const [process, { snapshot, at }] of snapshots) {
      if (now - at > STALE_AFTER) {
        snapshots.delete(process);
        continue;
      }
      last = Math.max(last, snapshot.second);
    }
    for (const [process, { snapshot, at }] of snapshots) {
      let subscribers = 0;
      for (const route of snapshot.routes) {
        let merged = routes.get(route.route);
        if (!merged) {
          merged = { route: route.route, view: route.view, subscribers: 0, channels: 0, rates: new Array(config.seconds).fill(0) };
          routes.set(route.route, merged);
        }
        merged.subscribers += route.subscribers;
        merged.channels = Math.max(merged.channels, route.channel_count);
        subscribers += route.subscribers;
        // rates[i] is second `snapshot.second - (length - 1 - i)`; align on the newest second.
        const shift = last - snapshot.second;
        route.rates.forEach((count, i) => {
          const j = i - shift;
          if (j >= 0) merged.rates[j] += count;
        });
        for (const channel of route.channels) {
          let entry = channels.get(channel.channel);
          if (!entry) {
            entry = { channel: channel.channel, route: route.route, subscribers: 0, rate: 0, subscriptions: [] };
            channels.set(channel.channel, entry);
          }
          entry.subscribers += channel.subscribers;
          entry.rate += channel.rate;
          for (const subscription of channel.subscriptions) entry.subscriptions.push(Object.assign({ process: process }, subscription));
        }
      }
      processes.push({ process: process, subscribers: subscribers, age: (now - at) / 1000, hold: snapshot.hub_hold || null });
    }
    // Distinct channels across processes (at least what one process counted beyond its listed ones).
    const distinct = new Map();
    for (const entry of channels.values()) distinct.set(entry.route, (distinct.get(entry.route) || 0) + 1);
    for (const route of routes.values()) route.channels = Math.max(route.channels, distinct.get(route.route) || 0);
    return { routes: [...routes.values()], channels: [...channels.values()], processes: processes };
  }

  function lastRate(rates) {
    // The last complete second.
    return rates.length ? rates[rates.length - 1] : 0;
  }

  /**
   * Make `tbody` hold one row per item, in order: a row is built once per key
   * (`build(item)` returns it, with its cells), then only its cells' text is
   * updated (`update(row, item)`), so that links and buttons under the
   * pointer stay the same elements between two snapshots.
   */
  function syncRows(tbody, items, keyOf, build, update) {
    const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
    const rows = items.map((item) => {
      const key = keyOf(item);
      let row = existing.get(key);
      if (!row) {
        row = build(item);
        row.dataset.key = key;
      }
      update(row, item);
      return row;
    });
    const unchanged = rows.length === tbody.rows.length && rows.every((row, i) => tbody.rows[i] === row);
    if (!unchanged) tbody.replaceChildren(...rows);
  }

  function setText(row, selector, text) {
    const node = row.querySelector(selector);
    const value = String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function render() {
    const state = merge();
    const total = new Array(config.seconds).fill(0);
    for (const route of state.routes) route.rates.forEach((count, i) => (total[i] += count));
    syncRows(
      $("live-routes").tBodies[0],
      state.routes,
      (route) => route.route,
      (route) => {
        const row = el("tr", { "data-route": route.route });
        cell(row, route.route, { class: "route" });
        cell(row, route.view, { class: "view" });
        cell(row, "", { class: "channels" });
        cell(row, "", { class: "subscribers" });
        cell(row, "", { class: "rate" });
        const chartCell = el("td", { class: "chart" });
        chartCell.appendChild(spark(route.rates));
        row.appendChild(chartCell);
        return row;
      },
      (row, route) => {
        setText(row, ".view", route.view);
        setText(row, ".channels", route.channels);
        setText(row, ".subscribers", route.subscribers);
        setText(row, ".rate", lastRate(route.rates));
        chart(row.querySelector(".live-spark"), route.rates, 120, 24);
      }
    );
    chart($("live-total-chart"), total, 600, 80);
    $("live-total-rate").textContent = `${lastRate(total)} messages in the last second; ${state.processes.length} process(es) reporting.`;

    syncRows(
      $("live-channels").tBodies[0],
      state.channels.sort((a, b) => b.subscribers - a.subscribers || b.rate - a.rate || a.channel.localeCompare(b.channel)),
      (entry) => entry.channel,
      (entry) => {
        const row = el("tr", { "data-channel": entry.channel });
        const name = el("td");
        const link = el("a", { href: "#", class: "select" }, entry.channel);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          select(entry.channel);
        });
        name.appendChild(link);
        row.appendChild(name);
        cell(row, entry.route, { class: "route" });
        cell(row, "", { class: "subscribers" });
        cell(row, "", { class: "rate" });
        return row;
      },
      (row, entry) => {
        row.classList.toggle("selected", entry.channel === selected);
        setText(row, ".subscribers", entry.subscribers);
        setText(row, ".rate", fmt(entry.rate));
      }
    );

    syncRows(
      $("live-processes").tBodies[0],
      state.processes,
      (p) => p.process,
      (p) => {
        const row = el("tr", { "data-process": p.process });
        cell(row, p.process);
        cell(row, "", { class: "subscribers" });
        cell(row, "", { class: "age" });
        cell(row, "", { class: "hold" });
        return row;
      },
      (row, p) => {
        setText(row, ".subscribers", p.subscribers);
        setText(row, ".age", `${p.age.toFixed(1)} s ago`);
        // The last greenlet that held this process's hub past MAX_BLOCKING_TIME (socketio_views.hub).
        const ago = p.hold ? Math.max(0, Date.now() / 1000 - p.hold.time) : 0;
        setText(row, ".hold", p.hold ? `${p.hold.what}: ${p.hold.seconds.toFixed(2)} s, ${ago.toFixed(0)} s ago` : "none");
      }
    );
    renderDetail(state.channels.find((entry) => entry.channel === selected));
  }

  function renderDetail(entry) {
    const detail = $("live-detail");
    detail.hidden = selected === null;
    if (selected === null) return;
    $("live-detail-name").textContent = selected;
    const channel = selected;
    syncRows(
      $("live-subscriptions").tBodies[0],
      entry ? entry.subscriptions : [],
      (s) => s.sid,
      (s) => {
        const row = el("tr", { "data-sid": s.sid });
        cell(row, s.sid);
        cell(row, s.user === null ? "anonymous" : s.user);
        cell(row, s.connection);
        cell(row, s.process);
        if (config.canOperate) {
          const actions = el("td");
          const end = el("button", { type: "button", class: "button end-subscription" }, "End subscription");
          end.addEventListener("click", () => act("end_subscription", { channel: channel, sid: s.sid }, `Ended subscription ${s.sid}.`));
          actions.appendChild(end);
          if (s.user_id !== null) {
            const endUser = el("button", { type: "button", class: "button end-user" }, `End every subscription of ${s.user}`);
            endUser.addEventListener("click", () => act("end_user", { user_id: s.user_id }, `Ended every subscription of ${s.user}.`));
            actions.appendChild(endUser);
          }
          row.appendChild(actions);
        }
        return row;
      },
      () => {}
    );
  }

  function select(channel) {
    selected = channel;
    $("live-presence").replaceChildren();
    $("live-subscriptions").tBodies[0].replaceChildren();
    const input = $("live-send-channel");
    if (input) input.value = channel;
    render();
  }

  function call(event, payload) {
    return socket
      .timeout(10000)
      .emitWithAck(event, payload)
      .then((ack) => (ack && ack.error ? Promise.reject(SocketIOViews.channelError(ack.error)) : ack));
  }

  function act(event, payload, done) {
    return call(event, payload).then(
      () => say(done, "success"),
      (error) => say(`${error.message} (${error.code || "error"})`, "error")
    );
  }

  const socket = SocketIOViews.subscribe(config.channel);
  socket.on("connect", () => status("up", "Live: snapshots arrive from every process about once a second."));
  socket.on("disconnect", () => status("down", "Disconnected; reconnecting…"));
  SocketIOViews.onError(socket, (error) => {
    if (error.code === "transport_error") status("down", "Cannot reach the server; retrying…");
    else {
      const node = $("live-status");
      node.dataset.code = error.code;
      status("refused", `Refused: ${error.message} (${error.code})`);
    }
  });
  socket.on("snapshot", (snapshot) => {
    snapshots.set(snapshot.process, { snapshot: snapshot, at: Date.now() });
    render();
  });
  setInterval(render, config.interval * 1000);

  $("live-presence-button").addEventListener("click", () => {
    const channel = selected;
    call("presence", { channel: channel }).then(
      (ack) => {
        const items = ack.presence.map((entry) => el("li", {}, JSON.stringify(entry)));
        if (!items.length) items.push(el("li", {}, `Nobody is present on ${channel} (presence is kept by channels with PresenceMixin).`));
        $("live-presence").replaceChildren(...items);
      },
      (error) => say(`${error.message} (${error.code || "error"})`, "error")
    );
  });

  const form = $("live-send");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      let data;
      try {
        data = JSON.parse($("live-send-data").value || "null");
      } catch (error) {
        say(`The data is not JSON: ${error.message}`, "error");
        return;
      }
      const channel = $("live-send-channel").value.trim();
      act("send", { channel: channel, event: $("live-send-event").value.trim() || "message", data: data }, `Sent to ${channel}.`);
    });
  }
})();
