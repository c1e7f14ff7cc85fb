// A page's script typed by the demo's generated declarations:
//   python manage.py channels_schema --format typescript --output channels.ts
// tests/test_contracts.py compiles it with `tsc --strict` against the demo's.
import { io } from "socket.io-client";
import type { ChannelSocket, Channels } from "./channels";

// [typed-socket]
const name: Channels["rooms/{room}"]["name"] = "rooms/lobby";
const room: ChannelSocket<"rooms/{room}"> = io(`/${name}`);

room.on("presence_diff", (diff) => {
  console.log(`${diff.joins.length} joined, ${diff.leaves.length} left`);
});
room.on("error", (error) => console.log(error.code, error.retry_after));

async function say(text: string): Promise<void> {
  // The payload is checked against ChatMessage: {text: string, id?: string}.
  // The demo's on_message declares no return type: the reply is unknown.
  const reply = await room.emitWithAck("message", { text });
  console.log(reply);
}
// [/typed-socket]

say("hi");
