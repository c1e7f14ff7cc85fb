// The official socket.io-client, driven line by line from a test.
//
//   node recovering_client.js URL NAMESPACE AUTH_JSON
//
// Prints one JSON line per happening: {"type": "connect", "recovered", "id"},
// {"type": "message", "data", "offset"}, {"type": "disconnect", "reason"},
// {"type": "connect_error", "message", "data"}. Reads commands from stdin:
// "drop" closes the transport as a lost network does (socket.io.engine.close()),
// "reconnect [URL]" connects again (to URL if given), "quit" exits.
const readline = require("readline");
const { Manager } = require("socket.io-client");

const [url, namespace, auth] = process.argv.slice(2);
const manager = new Manager(url, {
  transports: ["websocket"],
  reconnection: false,
});
const socket = manager.socket(namespace, { auth: JSON.parse(auth || "{}") });
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

socket.on("connect", () => print({ type: "connect", recovered: socket.recovered, id: socket.id }));
socket.on("disconnect", (reason) => print({ type: "disconnect", reason }));
socket.on("connect_error", (err) => print({ type: "connect_error", message: err.message, data: err.data }));
socket.onAny((event, ...args) => {
  const offset = args.length > 1 && typeof args[args.length - 1] === "string" ? args[args.length - 1] : null;
  print({ type: event, data: args[0], offset });
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, argument] = line.trim().split(/\s+/);
  if (command === "drop") {
    manager.engine.close();
  } else if (command === "reconnect") {
    if (argument) manager.uri = argument;
    socket.connect();
  } else if (command === "quit") {
    socket.close();
    process.exit(0);
  }
});
socket.connect();
