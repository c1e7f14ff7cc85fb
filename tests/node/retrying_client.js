// The official socket.io-client with `retries` and `ackTimeout`, emitting one event.
//
//   node retrying_client.js URL NAMESPACE EVENT DATA_JSON RETRIES ACK_TIMEOUT_MS WAIT_MS
//
// Emits EVENT with DATA once, through socket.io-client's retry queue: it is
// sent again whenever its acknowledgement does not arrive within
// ACK_TIMEOUT_MS, RETRIES times at most. Prints one JSON line per
// happening: {"type": "connect"}, {"type": "ack", "error", "reply"},
// {"type": "event", "event", "data"}; then, WAIT_MS after the ack, exits.
const { io } = require("socket.io-client");

const [url, namespace, event, data, retries, ackTimeout, wait] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const socket = io(url + namespace, {
  transports: ["websocket"],
  reconnection: false,
  retries: Number(retries),
  ackTimeout: Number(ackTimeout),
});
socket.onAny((name, payload) => print({ type: "event", event: name, data: payload }));
socket.on("connect", () => {
  print({ type: "connect" });
  socket.emit(event, JSON.parse(data), (error, reply) => {
    print({ type: "ack", error: error ? String(error) : null, reply });
    setTimeout(() => { socket.close(); process.exit(0); }, Number(wait));
  });
});
socket.on("connect_error", (error) => { print({ type: "connect_error", message: error.message }); process.exit(1); });
