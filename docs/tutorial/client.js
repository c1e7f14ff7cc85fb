const { io } = require("socket.io-client");

const url = process.argv[2] || "http://127.0.0.1:8000";
const channel = process.argv[3] || "rooms/lobby";

// A full URL: the scheme, host and port of the Django site, then the channel.
const room = io(`${url}/${channel}`);

room.on("connect_error", (err) => {
  if (err.data) {
    // The server refused the subscription: data carries its code.
    console.log(`refused: ${err.message} (${err.data.code})`);
  } else {
    // No answer from the server: "xhr poll error" or "websocket error".
    console.log(`cannot reach ${url}: ${err.message}`);
  }
  room.disconnect(); // a script gives up; a web page would let Socket.IO retry
});

room.on("connect", async () => {
  const message = {text: "hello from Node"};
  const ack = await room.timeout(5000).emitWithAck("message", message);
  console.log("ack", JSON.stringify(ack));
  room.disconnect();
});
