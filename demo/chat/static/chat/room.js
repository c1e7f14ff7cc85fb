// The demo room page: one Socket.IO namespace per channel, "rooms/<slug>" -> "/rooms/<slug>".
(function () {
  const root = document.getElementById("room");
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const form = document.getElementById("send");
  const input = document.getElementById("text");
  let name = root.dataset.nickname;
  if (!name) {
    name = (window.prompt("Your nickname?") || "").trim() || "guest" + Math.floor(Math.random() * 1000);
  }

  const room = io("/" + root.dataset.channel, { auth: { name: name } });

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

  room.on("connect", () => setStatus("connected as " + name, "up"));
  room.on("disconnect", () => setStatus("connection lost, reconnecting…", "down"));
  room.on("connect_error", (err) => setStatus((err.data && err.data.message) || err.message, "down"));
  room.on("message", (data) => add("message", data.text, data.user));
  room.on("joined", (data) => add("notice", data.user + " joined"));
  room.on("left", (data) => add("notice", data.user + " left"));
  room.on("error", (data) => add("error", data.message));

  let typingTimer;
  room.on("typing", (data) => {
    typing.textContent = data.user + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing.textContent = ""), 2000);
  });

  let lastTyping = 0;
  input.addEventListener("input", () => {
    if (Date.now() - lastTyping > 1000) {
      lastTyping = Date.now();
      room.emit("typing", {});
    }
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    room.emit("message", { text: text }, (ack) => {
      if (ack && ack.ok) input.value = "";
    });
  });
})();
