// The rooms page: the rooms and their live subscriber counts, from channel "rooms".
// The list arrives once; then each room that opens or closes, and each count that changes.
(function () {
  const list = document.getElementById("rooms");
  // The nickname picked in a room (room.js remembers it in this browser).
  const nickname = document.querySelector("input[name=nickname]");
  try {
    if (nickname && !nickname.value) nickname.value = localStorage.getItem("chat.nickname") || "";
  } catch (error) { /* storage disabled: type it */ }
  const rooms = SocketIOViews.subscribe("rooms");

  function find(channel) {
    return list.querySelector(`li[data-channel="${CSS.escape(channel)}"]`);
  }

  function row(room) {
    let item = find(room.channel);
    if (!item) {
      item = document.createElement("li");
      item.dataset.channel = room.channel;
      const link = document.createElement("a");
      link.href = "/rooms/" + encodeURIComponent(room.slug) + "/";
      link.textContent = "#" + room.slug;
      // The number, and for screen readers what it counts ("2 people online").
      const count = document.createElement("span");
      count.className = "count";
      const number = document.createElement("span");
      number.className = "number";
      const counted = document.createElement("span");
      counted.className = "visually-hidden";
      count.append(number, counted);
      item.append(link, " ");
      if (room.members_only) {
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "members only";
        item.append(tag, " ");
      }
      item.append(count);
      list.appendChild(item);
    }
    return item;
  }

  function setCount(channel, count) {
    const item = find(channel);
    if (!item) return;
    item.querySelector(".count .number").textContent = count;
    item.querySelector(".count .visually-hidden").textContent = count === 1 ? " person online" : " people online";
  }

  function show(room) {
    row(room);
    setCount(room.channel, room.count);
  }

  rooms.on("rooms", (data) => data.rooms.forEach(show));
  rooms.on("room_opened", show);
  rooms.on("room_closed", (data) => { const item = find(data.channel); if (item) item.remove(); });
  rooms.on("count", (data) => setCount(data.channel, data.count));
})();
