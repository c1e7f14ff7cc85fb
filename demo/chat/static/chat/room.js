// The room page: messages, who is online, typing, and the connection's state.
(function () {
  const root = document.getElementById("room");
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const people = document.getElementById("presence");
  const onlineCount = document.getElementById("online-count");
  const form = document.getElementById("send");
  const input = document.getElementById("text");

  let name = root.dataset.nickname;
  if (!name) {
    name = (window.prompt("Your nickname?") || "").trim() || "guest" + Math.floor(Math.random() * 1000);
  }
  const room = SocketIOViews.subscribe(root.dataset.channel, { auth: { name: name } });
  const present = new Map();

  function add(kind, text, user) {
    const item = document.createElement("li");
    item.className = kind;
    if (user) {
      const who = document.createElement("strong");
      who.textContent = user;
      item.appendChild(who);
    }
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  function renderPresence() {
    people.replaceChildren(...[...present.values()].map((entry) => {
      const item = document.createElement("li");
      item.textContent = entry.user + (entry.sid === room.id ? " (you)" : "");
      return item;
    }));
    onlineCount.textContent = present.size;
  }

  SocketIOViews.onConnect(room, ({ reconnected, lost }) => {
    setStatus("connected as " + name, "up");
    if (lost) {
      // Nothing could be recovered: start over from the history that follows.
      list.replaceChildren();
      add("notice", "Reconnected; some messages may be missing.");
    } else if (reconnected) {
      add("notice", "Reconnected.");
    }
  });
  room.on("disconnect", (reason) => {
    setStatus("connection lost — reconnecting…", "down");
    add("notice", "Connection lost (" + reason + "); reconnecting…");
  });
  SocketIOViews.onError(room, (error) => {
    if (error.code === "transport_error") {
      setStatus("server unreachable — retrying…", "down");
    } else {
      add("error", error.message + " (" + error.code + ")");
      if (!room.connected) setStatus(error.message, "down");
    }
  });

  room.on("message", (data) => add(data.system ? "system" : "message", data.text, data.system ? "System" : data.user));
  room.on("presence_state", (data) => {
    present.clear();
    data.presences.forEach((entry) => present.set(entry.sid, entry));
    renderPresence();
  });
  room.on("presence_diff", (data) => {
    data.joins.forEach((entry) => { present.set(entry.sid, entry); add("notice", entry.user + " joined"); });
    data.leaves.forEach((entry) => { present.delete(entry.sid); add("notice", entry.user + " left"); });
    renderPresence();
  });

  let typingTimer;
  room.on("typing", (data) => {
    typing.textContent = data.user + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing.textContent = ""), 2000);
  });

  let lastTyping = 0;
  input.addEventListener("input", () => {
    if (Date.now() - lastTyping > 1000 && room.connected) {
      lastTyping = Date.now();
      room.emit("typing", {});
    }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    room.send({ text: text }).then(() => { input.value = ""; }).catch(() => {});
  });
})();
