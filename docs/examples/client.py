"""docs/wire.rst: the python-socketio client subscribing to a channel."""
# [client]
import socketio

client = socketio.Client()
client.connect(
    "http://127.0.0.1:8000", namespaces=["/rooms/lobby"], auth={"token": "..."}
)
# [/client]
