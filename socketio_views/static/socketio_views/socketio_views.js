/*
 * socketio_views.js: a thin helper over the official Socket.IO client (io).
 *
 *   const room = SocketIOViews.subscribe("rooms/lobby", {auth: {name: "ann"}});
 *   room.on("message", (data) => ...);
 *   room.send({text: "hi"}).then((ack) => ...).catch((error) => error.code);
 *   SocketIOViews.onError(room, (error) => console.log(error.code, error.message));
 *   SocketIOViews.onConnect(room, ({recovered, lost}) => { if (lost) clearMessages(); });
 *
 * A channel is the Socket.IO namespace "/" + channel; reconnection and
 * re-subscription are Socket.IO's own. No protocol code lives here.
 */
(function (root) {
  "use strict";

  const defaults = { path: "/socket.io/", url: "", ackTimeout: 10000 };

  function readConfig() {
    const node = root.document && root.document.getElementById("socketio-views-config");
    return node ? JSON.parse(node.textContent) : {};
  }

  function config() {
    return Object.assign({}, defaults, readConfig(), SocketIOViews.settings);
  }

  /** The error of a refused or failed ack, as an Error with `code` (and the server's other fields). */
  function channelError(payload) {
    const error = new Error(payload.message);
    return Object.assign(error, payload);
  }

  /** Subscribe to `channel`; returns the Socket.IO socket of its namespace, with send() returning a Promise. */
  function subscribe(channel, options) {
    const cfg = config();
    const socket = root.io(cfg.url + "/" + channel, Object.assign({ path: cfg.path }, options || {}));
    socket.channel = channel;
    socket.send = function (data) {
      return socket
        .timeout(cfg.ackTimeout)
        .emitWithAck("message", data)
        .then((ack) => (ack && ack.error ? Promise.reject(channelError(ack.error)) : ack));
    };
    return socket;
  }

  /** Call `callback({message, code, ...})` for refusals (connect_error) and for `error` events. */
  function onError(socket, callback) {
    socket.on("connect_error", (err) => callback(Object.assign({ message: err.message, code: "transport_error" }, err.data || {})));
    socket.on("error", (payload) => callback(payload));
    return socket;
  }

  /**
   * Call `callback({recovered, reconnected, lost})` on every (re)subscription:
   * `recovered` is socket.io-client's `socket.recovered` (what was missed has
   * been replayed), `reconnected` whether this is not the first one, and
   * `lost` whether it is a reconnection that could not recover (start over:
   * on channels with `send_history_on_subscribe`, the last messages follow).
   */
  function onConnect(socket, callback) {
    let connectedBefore = false;
    socket.on("connect", () => {
      const reconnected = connectedBefore;
      connectedBefore = true;
      const recovered = Boolean(socket.recovered);
      callback({ recovered: recovered, reconnected: reconnected, lost: reconnected && !recovered });
    });
    return socket;
  }

  const SocketIOViews = {
    settings: {},
    subscribe: subscribe,
    onError: onError,
    onConnect: onConnect,
    channelError: channelError,
  };
  root.SocketIOViews = SocketIOViews;
})(window);
