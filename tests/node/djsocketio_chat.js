// The socket part of django-socketio's example chat.js, moved to socket.io-client 4 for
// socketio_views.compat (docs/django-socketio.rst includes the startChat function). The
// same code runs in a browser page, with `io` from {% socketio_scripts %}.
//
//   node djsocketio_chat.js URL ROOM_ID NAME TEXT
//
// Joins room ROOM_ID as NAME, says TEXT once started, prints each message it receives as a
// JSON line, and leaves (closes its connection) on "quit" from stdin.
const { io } = require("socket.io-client");

// start-chat
function startChat(roomId, name, messaged, url = "") {
  // Was: socket = new io.Socket(); socket.connect();
  //      socket.subscribe("room-" + roomId);
  const everyone = io(url + "/"); // broadcast() and send(session_id) arrive here
  const room = io(url + "/room-" + roomId); // the channel, on the same connection
  everyone.on("message", messaged);
  room.on("message", messaged);
  // Socket.IO subscribes again after a reconnection: announce the name each time.
  room.on("connect", () => {
    room.send({ room: roomId, action: "start", name: name });
  });
  // To talk: room.send({room: roomId, action: "message", message: text})
  return room;
}
// end-start-chat

if (require.main === module) {
  const [url, roomId, name, text] = process.argv.slice(2);
  const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
  const room = startChat(
    Number(roomId),
    name,
    (data) => {
      print(data);
      if (data.action === "started") {
        room.send({ room: Number(roomId), action: "message", message: text });
      }
    },
    url,
  );
  require("readline")
    .createInterface({ input: process.stdin })
    .on("line", (line) => {
      if (line.trim() === "quit") {
        room.io.engine.close();
        process.stdout.write("", () => process.exit(0));
      }
    });
}
