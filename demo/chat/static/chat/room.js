// The room page: messages, who is online, typing, and the connection's state.
// Every text from the server goes into the page as text nodes, never as HTML.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("room");
  const list = $("messages"); // the scrolling log
  const messageList = $("message-list"); // its list of messages
  const newBelow = $("new-below");
  const empty = $("empty");
  const status = $("status");
  const typing = $("typing");
  const people = $("people");
  const presenceList = $("presence");
  const onlineCount = $("online-count");
  const form = $("send");
  const input = $("text");
  const sendButton = $("send-button");
  const notice = $("notice");
  const identity = $("identity");
  const me = $("me");
  const nicknameForm = $("nickname-form");
  const nicknameInput = $("nickname");
  const nicknameError = $("nickname-error");
  const changeName = $("change-name");
  const nicknameSubmit = $("nickname-submit");
  const nicknameCancel = $("nickname-cancel");
  const nicknameLabel = nicknameForm.querySelector("label");
  const joinLabel = nicknameLabel.textContent;

  const HISTORY_ON_JOIN = Number(root.dataset.history || 50);
  const MAX_NAME = 30;
  const GROUP_WITHIN_MS = 5 * 60 * 1000;
  const STORAGE_KEY = "chat.nickname";

  // Who I am: a logged-in user's username, else a nickname (from the rooms
  // page's form, or remembered in this browser).
  const user = root.dataset.user;
  const myPerson = root.dataset.person; // this browser's person key (chat.channels.person_of): "(you)" goes by it
  let name = user || cleanName(root.dataset.nickname || remembered());
  let accepted = null; // the name the server last accepted: what Cancel returns to
  let rejoining = false; // reconnecting on purpose, under a new name: no "Back online"

  /** A nickname as the server keeps it (chat.channels.clean_name): NFKC, no invisible characters, spaces collapsed. */
  function cleanName(value) {
    const visible = value.normalize("NFKC").replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Cn}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]/gu, "");
    return visible.split(/\s+/).filter(Boolean).join(" ");
  }

  function remembered() {
    try { return localStorage.getItem(STORAGE_KEY) || ""; } catch (error) { return ""; }
  }
  function remember(value) {
    try { localStorage.setItem(STORAGE_KEY, value); } catch (error) { /* storage disabled */ }
  }

  const room = SocketIOViews.subscribe(root.dataset.channel, {
    autoConnect: false,
    auth: (callback) => callback(user ? {} : { name: name }),
  });

  // ---- Messages -----------------------------------------------------------

  const seen = new Set(); // history offsets shown: a replayed message is never shown twice
  let lastOffset = null;
  let last = null; // {user, time} of the last message shown, for grouping
  let lastDay = null; // the day of the last message shown, for day separators

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
    unseenBelow = 0;
    newBelow.hidden = true;
  }

  // Scrolled up to read, one is told of new messages below rather than moved.
  let unseenBelow = 0;
  list.addEventListener("scroll", () => { if (nearBottom()) { unseenBelow = 0; newBelow.hidden = true; } });
  newBelow.addEventListener("click", () => { scrollToEnd(); list.focus(); });

  function append(item) {
    const stick = nearBottom();
    messageList.insertBefore(item, messageList.querySelector("li.outgoing")); // messages not (yet) sent stay last
    if (stick) scrollToEnd();
    else if (item.classList.contains("msg")) {
      unseenBelow += 1;
      newBelow.textContent = (unseenBelow === 1 ? "1 new message" : unseenBelow + " new messages") + " ↓";
      newBelow.hidden = false;
    }
    empty.hidden = true;
  }

  // Unread messages in the tab's title while the tab is hidden.
  const title = document.title;
  let unread = 0;
  function countUnread() {
    if (!document.hidden) return;
    unread += 1;
    document.title = "(" + unread + ") " + title;
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { unread = 0; document.title = title; }
  });

  function dayLabel(date) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (date.toDateString() === today.toDateString()) return "Today";
    if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
    return date.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  }

  /** `text` as text nodes, with http(s) links as <a> elements built from the parsed URL. */
  function linkify(text) {
    const fragment = document.createDocumentFragment();
    const pattern = /https?:\/\/[^\s<>"']+/g;
    let at = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      let href = match[0].replace(/[.,;:!?)\]]+$/, "");
      let url = null;
      try { url = new URL(href); } catch (error) { url = null; }
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
      fragment.append(document.createTextNode(text.slice(at, match.index)));
      const link = document.createElement("a");
      link.href = url.href;
      link.textContent = href;
      link.rel = "noopener noreferrer nofollow";
      link.target = "_blank";
      fragment.append(link);
      at = match.index + href.length;
      pattern.lastIndex = at;
    }
    fragment.append(document.createTextNode(text.slice(at)));
    return fragment;
  }

  function showMessage(data) {
    const time = data.at ? new Date(data.at) : new Date();
    const day = time.toDateString();
    if (lastDay !== day) {
      const separator = document.createElement("li");
      separator.className = "day"; // an item of the list that reads "Today" (role="separator" would leave the list)
      separator.textContent = dayLabel(time);
      append(separator);
      lastDay = day;
      last = null;
    }
    const author = data.system ? "System" : String(data.user);
    const own = !data.system && Boolean(myPerson) && data.person === myPerson; // by who sent it, not by the name
    const grouped = last && last.user === author && !data.system && time - last.time < GROUP_WITHIN_MS;
    const item = document.createElement("li");
    item.className = "msg" + (own ? " own" : "") + (data.system ? " system" : "") + (grouped ? " grouped" : "");
    item.dataset.user = author;
    const head = document.createElement("div");
    head.className = "meta";
    const who = document.createElement("strong");
    const authorName = document.createElement("bdi"); // a right-to-left name does not carry the time along
    authorName.textContent = author;
    who.append(authorName);
    if (own) who.append(" (you)");
    const stamp = document.createElement("time");
    stamp.dateTime = time.toISOString();
    stamp.title = time.toLocaleString();
    stamp.textContent = time.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    head.append(who, " ", stamp);
    if (grouped) head.classList.add("visually-hidden"); // still read out by screen readers
    const body = document.createElement("p");
    body.className = "text";
    body.dir = "auto";
    body.append(linkify(String(data.text)));
    item.append(head, body);
    append(item);
    if (!own) countUnread();
    last = data.system ? null : { user: author, time: time };
  }

  function showNotice(text) {
    const item = document.createElement("li");
    item.className = "notice";
    item.textContent = text;
    append(item);
    last = null;
  }

  // ---- Recovery -----------------------------------------------------------
  // After a reconnection that could not recover, the server sends the last
  // messages again: the ones already shown are skipped (by offset), and a
  // notice appears only if they do not reach back to the last one shown.

  let gapCheck = null;

  function compareOffsets(a, b) {
    const [am, as] = a.split("-").map(Number);
    const [bm, bs] = b.split("-").map(Number);
    return am - bm || as - bs;
  }

  function startGapCheck() {
    const check = { since: lastOffset, count: 0 };
    check.timer = setTimeout(() => endGapCheck(check, check.since !== null || check.count >= HISTORY_ON_JOIN), 2000);
    gapCheck = check;
  }

  function endGapCheck(check, missing) {
    if (gapCheck !== check) return;
    clearTimeout(check.timer);
    gapCheck = null;
    if (missing) showNotice("Some messages sent while you were away could not be recovered.");
  }

  room.on("message", (data, offset) => {
    if (typeof offset === "string") {
      if (gapCheck) {
        gapCheck.count += 1;
        if (gapCheck.since !== null) endGapCheck(gapCheck, compareOffsets(offset, gapCheck.since) > 0);
      }
      if (seen.has(offset)) return;
      seen.add(offset);
      lastOffset = offset;
    }
    if (data && data.user) clearTyping(String(data.user));
    if (data && typeof data.id === "string" && !data.system && data.person === myPerson) {
      delivered(data.id); // one's own message arrived, whatever became of its ack
    }
    showMessage(data || {});
  });

  // ---- Connection ---------------------------------------------------------

  let backOnlineTimer;
  let joinedOnce = false;
  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
    showTransport();
  }

  // "polling" until socket.io-client upgrades to "websocket": for the curious
  // (and the tests: a tab closed while still polling is noticed by the server
  // only when its pings time out).
  function showTransport() {
    const engine = room.io.engine;
    status.dataset.transport = room.connected && engine ? engine.transport.name : "";
  }
  room.io.on("open", () => room.io.engine.on("upgrade", showTransport));

  function setOnline(online) {
    people.classList.toggle("offline", !online);
    people.title = online ? "" : "Offline: this list may be out of date";
  }

  SocketIOViews.onConnect(room, ({ recovered, reconnected, lost }) => {
    root.dataset.recovered = String(recovered); // for the curious (and the tests): replayed, not sent again
    remember(name);
    accepted = name;
    showIdentity();
    setOnline(true);
    clearTimeout(backOnlineTimer);
    const comeBack = reconnected && !rejoining;
    rejoining = false;
    if (comeBack) {
      setStatus("Back online", "up");
      backOnlineTimer = setTimeout(() => setStatus("Online", "up"), 4000);
    } else {
      setStatus("Online", "up");
    }
    if (lost) startGapCheck();
    input.disabled = false;
    sendButton.disabled = false;
    input.placeholder = "Say something";
    const focusLost = !document.activeElement || document.activeElement === document.body
      || document.activeElement === nicknameInput;
    if (!joinedOnce || focusLost) input.focus(); // ready to type, not 3 Tabs away
    joinedOnce = true;
    outbox.forEach(render);
    pump(); // what waited while offline goes out, in order
    clearTimeout(beforeDropTimer);
    beforeDropTimer = setTimeout(() => { beforeDrop = new Set(); }, 15000);
    setTimeout(() => { if (!list.querySelector(".msg")) empty.hidden = false; }, 300);
  });

  room.on("disconnect", (reason) => {
    if (signedOut) return; // an end state, not a drop
    clearTimeout(beforeDropTimer);
    beforeDrop = new Set([...present.values()].map(personOf));
    setOnline(false);
    clearTimeout(backOnlineTimer);
    if (reason === "io client disconnect") setStatus("Offline", "down");
    else setStatus("Reconnecting…", "down");
    outbox.forEach(render); // Retry waits for the connection
  });

  // ---- Signed out (in this tab or another): the end, said plainly ---------

  let signedOut = false;
  const signedOutNotice = $("signed-out");

  function endSignedOut() {
    signedOut = true;
    room.disconnect(); // the server ended the subscription: nothing reconnects
    setStatus("Signed out", "down");
    setOnline(false);
    signedOutNotice.hidden = false;
    clearInterval(countdownTimer); // nothing counts down to a send now
    cooldownUntil = 0;
    hideNotice();
    input.disabled = true;
    sendButton.disabled = true;
    input.placeholder = "Signed out";
    outbox.forEach((entry) => { if (entry.state !== "sending") stop(entry, "unsent", "you were signed out."); });
    renderRetryAll();
    // The header: whoever is here is nobody now; only "Log in" is left.
    const nav = document.querySelector(".bar nav");
    if (nav) {
      const login = document.createElement("a");
      login.href = root.dataset.loginUrl;
      login.textContent = "Log in";
      nav.replaceChildren(login);
    }
    identity.hidden = true;
    present.clear(); // nobody is "online" to a page that is not
    counted = null;
    renderPresence();
    signedOutNotice.querySelector("a").focus();
  }

  SocketIOViews.onError(room, (error) => {
    if (signedOut) return;
    if (error.code === "logged_out") {
      endSignedOut();
    } else if (error.code === "transport_error") {
      setStatus("Reconnecting…", "down");
    } else if (error.code === "name_taken" || error.code === "name_required" || error.code === "name_in_use") {
      setStatus("Pick a nickname", "down");
      askNickname(error.message);
    } else if (error.event === "message" || error.event === "typing") {
      // Refused messages are handled where they were sent (send() rejects).
    } else {
      if (!room.connected) setStatus("Not connected", "down");
      showNotice(error.message);
    }
  });

  // ---- Presence: one line per person, with their number of tabs ----------

  // Entries are merged by sid everywhere: a state or a diff that names a
  // subscription again (a newcomer's own diff after its state) replaces it.
  const present = new Map(); // sid -> {sid, user, person}
  // Past the server's PRESENCE_LIST_LIMIT, presence_count ({"count": n}, tabs
  // not persons) comes instead of lists: the count is shown and the list is
  // marked partial until the next presence_state brings the whole list.
  let counted = null;

  function personOf(entry) {
    return entry.person || entry.sid;
  }

  function byPerson() {
    const persons = new Map();
    for (const entry of present.values()) {
      const key = personOf(entry);
      const person = persons.get(key) || { user: entry.user, tabs: 0, me: false };
      person.tabs += 1;
      person.me = person.me || entry.sid === room.id;
      persons.set(key, person);
    }
    return persons;
  }

  function renderPresence() {
    if (counted !== null) {
      const item = document.createElement("li");
      item.className = "partial";
      item.textContent = "Too many to list";
      presenceList.replaceChildren(item);
      presenceList.dataset.partial = "true";
      onlineCount.textContent = counted;
      return;
    }
    delete presenceList.dataset.partial;
    const persons = [...byPerson().values()].sort((a, b) => (b.me - a.me) || String(a.user).localeCompare(String(b.user)));
    presenceList.replaceChildren(...persons.map((person) => {
      const item = document.createElement("li");
      const who = document.createElement("bdi");
      who.textContent = person.user;
      item.append(who, person.me ? " (you)" : "");
      if (person.tabs > 1) {
        const tabs = document.createElement("span");
        tabs.className = "tabs";
        tabs.textContent = person.tabs + " tabs";
        item.append(" ", tabs);
      }
      return item;
    }));
    onlineCount.textContent = persons.length;
  }

  function personPresent(key) {
    for (const entry of present.values()) if (personOf(entry) === key) return true;
    return false;
  }

  // The people here when the connection dropped: when they come back within
  // a few seconds of our reconnection (a restarted server forgot everyone), it
  // is no news.
  let beforeDrop = new Set();
  let beforeDropTimer;

  room.on("presence_state", (data) => {
    counted = null;
    present.clear();
    data.presences.forEach((entry) => present.set(entry.sid, entry));
    renderPresence();
  });
  room.on("presence_count", (data) => {
    counted = data.count;
    renderPresence();
  });
  // "X left" waits a while: who reloads the page or comes back from a short
  // drop within it was never gone, and their return is no news either. The
  // list of people stays exact meanwhile.
  const LEAVE_NOTICE_AFTER_MS = 15000;
  const leaving = new Map(); // person -> timer of their "left" notice

  room.on("presence_diff", (data) => {
    data.joins.forEach((entry) => {
      const key = personOf(entry);
      const back = leaving.has(key);
      clearTimeout(leaving.get(key));
      leaving.delete(key);
      const known = back || personPresent(key) || beforeDrop.delete(key);
      present.set(entry.sid, entry);
      if (!known && entry.sid !== room.id) showNotice(entry.user + " joined");
    });
    data.leaves.forEach((entry) => {
      present.delete(entry.sid);
      const key = personOf(entry);
      if (!personPresent(key) && !leaving.has(key)) {
        leaving.set(key, setTimeout(() => {
          leaving.delete(key);
          if (!personPresent(key)) showNotice(entry.user + " left");
        }, LEAVE_NOTICE_AFTER_MS));
      }
    });
    renderPresence();
  });

  // ---- Typing --------------------------------------------------------------

  const typists = new Map(); // user -> timer

  function renderTyping() {
    const names = [...typists.keys()];
    typing.textContent = !names.length ? "" : names.length === 1 ? names[0] + " is typing…"
      : names.length === 2 ? names[0] + " and " + names[1] + " are typing…" : "Several people are typing…";
  }

  function clearTyping(who) {
    if (!typists.has(who)) return;
    clearTimeout(typists.get(who));
    typists.delete(who);
    renderTyping();
  }

  room.on("typing", (data) => {
    const who = String(data.user);
    clearTimeout(typists.get(who));
    typists.set(who, setTimeout(() => clearTyping(who), 3000));
    renderTyping();
  });

  let lastTyping = 0;
  input.addEventListener("input", () => {
    if (input.value && Date.now() - lastTyping > 1000 && room.connected) {
      lastTyping = Date.now();
      room.emit("typing", {});
    }
  });

  // ---- Sending ---------------------------------------------------------------
  // A message leaves the box as soon as it is sent and waits at the end of
  // the list (shown only if its answer is slow) until the server acknowledges
  // it, or its own broadcast comes back (by its client id). Messages go out in
  // the order typed: one refused by the rate limit, or typed while offline,
  // waits (with those typed after it) and goes out by itself when the limit or
  // the connection allows. One refused for another reason, or unanswered,
  // stays "Not sent" with Retry and Discard. No message is ever lost.

  const MAX_TEXT = Number(input.dataset.max || 500);
  const counter = $("counter");
  const retryAll = $("retry-all");
  let cooldownUntil = 0;
  let countdownTimer;
  const outbox = new Map(); // client id -> {id, text, state, item, ...}, in the order typed

  function showSendNotice(text, kind) {
    notice.textContent = text;
    notice.dataset.kind = kind;
    notice.hidden = false;
  }

  function hideNotice() {
    notice.hidden = true;
    notice.textContent = "";
    delete notice.dataset.kind;
  }

  function coolingDown() {
    return Date.now() < cooldownUntil;
  }

  function waitingCount() {
    return [...outbox.values()].filter((entry) => entry.state === "waiting").length;
  }

  function startCountdown(retryAfter) {
    cooldownUntil = Math.max(cooldownUntil, Date.now() + Math.max(1, Number(retryAfter) || 1) * 1000);
    clearInterval(countdownTimer);
    const tick = () => {
      const left = Math.ceil((cooldownUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(countdownTimer);
        hideNotice();
        outbox.forEach(render);
        pump(); // the waiting ones go out, in order
        return;
      }
      const waiting = waitingCount();
      showSendNotice("Slow down: " + (waiting === 1 ? "1 message waits and goes out by itself"
        : waiting + " messages wait and go out by themselves") + " in " + left + " s.", "rate");
    };
    tick();
    countdownTimer = setInterval(tick, 250);
    outbox.forEach(render);
  }

  let clientIds = 0;
  function newClientId() {
    clientIds += 1;
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10) + "-" + clientIds;
  }

  function control(text, className, onClick, describedBy) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.setAttribute("aria-describedby", describedBy);
    button.addEventListener("click", onClick);
    return button;
  }

  function outgoing(text) {
    const entry = { id: newClientId(), text: text, state: "new", why: "" };
    const item = document.createElement("li");
    item.className = "outgoing";
    item.hidden = true;
    const head = document.createElement("div");
    head.className = "meta";
    entry.label = document.createElement("strong");
    entry.reason = document.createElement("span");
    head.append(entry.label, " ", entry.reason);
    const body = document.createElement("p");
    body.className = "text";
    body.dir = "auto";
    body.id = "outgoing-" + entry.id;
    body.textContent = text;
    entry.actions = document.createElement("div");
    entry.actions.className = "actions";
    entry.retry = control("Retry", "retry", () => {
      deliver(entry);
      if (entry.state !== "unsent") focusAfter(entry);
    }, body.id);
    entry.discard = control("Discard", "link discard", () => { focusAfter(entry); forget(entry); }, body.id);
    entry.actions.append(entry.retry, entry.discard);
    item.append(head, body, entry.actions);
    entry.item = item;
    outbox.set(entry.id, entry);
    const stick = nearBottom();
    messageList.appendChild(item);
    if (stick) scrollToEnd();
    return entry;
  }

  const LABELS = { unsent: "Not sent:", waiting: "Waiting:", sending: "Sending…", "new": "Sending…" };

  function render(entry) {
    const stopped = entry.state === "unsent" || entry.state === "waiting";
    entry.item.classList.toggle("unsent", entry.state === "unsent");
    entry.item.classList.toggle("waiting", entry.state === "waiting");
    entry.item.dataset.state = entry.state;
    entry.label.textContent = LABELS[entry.state];
    entry.reason.textContent = stopped ? entry.why : "";
    entry.actions.hidden = !stopped;
    entry.retry.disabled = coolingDown() || signedOut || !room.connected;
    if (stopped) show(entry);
    renderRetryAll();
  }

  function renderRetryAll() {
    const stopped = [...outbox.values()].filter((entry) => entry.state === "unsent" || entry.state === "waiting");
    retryAll.hidden = stopped.length < 2 || signedOut;
    retryAll.textContent = "Retry all (" + stopped.length + ")";
    retryAll.disabled = coolingDown() || signedOut || !room.connected;
  }

  function show(entry) {
    clearTimeout(entry.slow);
    const stick = entry.item.hidden || nearBottom();
    entry.item.hidden = false;
    empty.hidden = true;
    if (stick) scrollToEnd(); // what waits stays in view
  }

  function stop(entry, state, why) {
    entry.state = state;
    entry.why = why;
    render(entry);
  }

  function forget(entry) {
    clearTimeout(entry.slow);
    outbox.delete(entry.id);
    entry.item.remove();
    renderRetryAll();
  }

  /** The server has the message with client id `id`: it leaves the list of those waiting. */
  function delivered(id) {
    const entry = outbox.get(id);
    if (entry) forget(entry);
  }

  /** Before `entry` goes (or stops being retryable), move the focus to the next message not sent, else the box. */
  function focusAfter(entry) {
    const others = [...outbox.values()].filter((other) => other !== entry && other.state === "unsent");
    const next = others.find((other) => !other.retry.disabled);
    (next ? next.retry : input).focus();
  }

  /** Whether a message typed before `entry` still waits: then `entry` waits too, to keep the order. */
  function behindWaiting(entry) {
    for (const other of outbox.values()) {
      if (other === entry) return false;
      if (other.state === "waiting") return true;
    }
    return false;
  }

  function deliver(entry) {
    if (entry.state === "sending") return;
    if (signedOut) return stop(entry, "unsent", "you were signed out.");
    if (!room.connected) return stop(entry, "waiting", "you are offline; it goes out when you are back.");
    if (coolingDown()) return stop(entry, "waiting", "too many messages at once; it goes out by itself.");
    const retried = entry.state === "unsent" || entry.state === "waiting";
    entry.state = "sending";
    render(entry);
    if (retried) show(entry); // it stays in view, now "Sending…"
    else entry.slow = setTimeout(() => show(entry), 700);
    room.send({ text: entry.text, id: entry.id }).then(() => {
      delivered(entry.id);
    }).catch((error) => {
      if (!outbox.has(entry.id)) return; // its broadcast arrived meanwhile: delivered after all
      if (error.code === "rate_limited") {
        stop(entry, "waiting", "too many messages at once; it goes out by itself.");
        startCountdown(error.retry_after);
      } else {
        stop(entry, "unsent", error.code ? error.message : room.connected ? "no answer from the server." : "the connection dropped.");
      }
    });
  }

  /** Send what waits, in the order typed, as far as the limit and the connection allow. */
  function pump() {
    if (!room.connected || coolingDown() || signedOut) return;
    for (const entry of [...outbox.values()]) {
      if (entry.state === "waiting") {
        deliver(entry);
        if (entry.state === "waiting") return;
      }
    }
  }

  retryAll.addEventListener("click", () => {
    for (const entry of [...outbox.values()]) {
      if (entry.state === "unsent") entry.state = "waiting";
    }
    pump();
    input.focus();
  });

  // The limit of a message, said before it bites: a counter near it, and a
  // message over it is kept in the box (never cut) with what to do.
  function renderCounter() {
    const length = [...input.value.trim()].length;
    const left = MAX_TEXT - length;
    counter.hidden = left > 50;
    counter.textContent = left >= 0 ? left + (left === 1 ? " character left" : " characters left")
      : -left + (left === -1 ? " character too many" : " characters too many");
    counter.dataset.over = String(left < 0);
    input.setAttribute("aria-invalid", String(left < 0));
  }
  input.addEventListener("input", renderCounter);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || signedOut || !accepted) return;
    const length = [...text].length;
    if (length > MAX_TEXT) {
      showSendNotice("This message has " + length.toLocaleString() + " characters; the limit is " + MAX_TEXT
        + ". Shorten it, or send it in parts.", "length");
      renderCounter();
      return;
    }
    if (notice.dataset.kind === "length") hideNotice();
    input.value = ""; // on its way, or listed as waiting: never lost
    renderCounter();
    const entry = outgoing(text);
    if (behindWaiting(entry)) stop(entry, "waiting", "it goes out after the ones before it.");
    else deliver(entry);
  });

  // ---- Nickname --------------------------------------------------------------

  function showIdentity() {
    me.textContent = name;
    identity.hidden = false;
    nicknameForm.hidden = true;
  }

  /** Show the nickname form: to join (after `error`, if any), or to change an accepted name, which Cancel keeps. */
  function askNickname(error) {
    identity.hidden = true;
    nicknameForm.hidden = false;
    nicknameCancel.hidden = !accepted;
    nicknameSubmit.textContent = accepted ? "Change" : "Join";
    nicknameLabel.textContent = accepted ? "Your new nickname" : joinLabel;
    nicknameInput.value = nicknameInput.value || name;
    nicknameError.textContent = error || "";
    nicknameInput.setAttribute("aria-invalid", error ? "true" : "false");
    nicknameInput.focus();
  }

  /** Back to the room under the accepted name (reconnecting under it if a new name was refused). */
  function cancelNickname() {
    if (!accepted) return; // nothing to go back to: a name is needed to join
    nicknameInput.value = "";
    nicknameError.textContent = "";
    nicknameInput.setAttribute("aria-invalid", "false");
    if (name !== accepted || !room.connected) {
      name = accepted;
      setStatus("Connecting…", "connecting");
      rejoining = true;
      room.connect();
    }
    showIdentity();
    if (changeName) changeName.focus();
  }

  nicknameForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = cleanName(nicknameInput.value);
    if (!value) {
      nicknameError.textContent = "Pick a nickname with letters or digits in it.";
      return;
    }
    const length = [...value].length;
    if (length > MAX_NAME) {
      nicknameError.textContent = "Nicknames are at most " + MAX_NAME + " characters; this one has " + length + ".";
      nicknameInput.setAttribute("aria-invalid", "true");
      nicknameInput.focus();
      return;
    }
    if (value === accepted && room.connected) {
      cancelNickname(); // the same name: nothing to change
      return;
    }
    name = value;
    nicknameInput.value = "";
    nicknameError.textContent = "";
    nicknameForm.hidden = true;
    setStatus("Connecting…", "connecting");
    rejoining = true;
    if (room.connected) room.disconnect();
    room.connect();
  });
  nicknameCancel.addEventListener("click", cancelNickname);
  nicknameForm.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && accepted) {
      event.preventDefault();
      cancelNickname();
    }
  });

  if (changeName) {
    // Only the form's submit changes the name (and reconnects); until then the room stays as it is.
    changeName.addEventListener("click", () => {
      nicknameInput.value = name;
      askNickname("");
    });
  }

  // The list of people folds away (on a phone it starts folded).
  const peopleToggle = $("people-toggle");
  function foldPeople(folded) {
    peopleToggle.setAttribute("aria-expanded", String(!folded));
    presenceList.hidden = folded;
  }
  peopleToggle.addEventListener("click", () => foldPeople(peopleToggle.getAttribute("aria-expanded") === "true"));
  foldPeople(Boolean(window.matchMedia && window.matchMedia("(max-width: 600px)").matches));

  if (name) {
    room.connect();
  } else {
    setStatus("Pick a nickname", "down");
    askNickname("");
  }
})();
