// The rooms page: live subscriber counts from channel "rooms".
(function () {
  const list = document.getElementById("rooms");
  const rooms = SocketIOViews.subscribe("rooms");

  function row(room) {
    let item = list.querySelector(`li[data-channel="${room.channel}"]`);
    if (!item) {
      item = document.createElement("li");
      item.dataset.channel = room.channel;
      const link = document.createElement("a");
      link.href = "/rooms/" + room.slug + "/";
      link.textContent = "#" + room.slug;
      const count = document.createElement("span");
      count.className = "count";
      item.append(link, " ", count);
      list.appendChild(item);
    }
    return item;
  }

  function setCount(channel, count) {
    const item = list.querySelector(`li[data-channel="${channel}"]`);
    if (item) item.querySelector(".count").textContent = count;
  }

  rooms.on("rooms", (data) => data.rooms.forEach((room) => { row(room); setCount(room.channel, room.count); }));
  rooms.on("count", (data) => setCount(data.channel, data.count));
})();
