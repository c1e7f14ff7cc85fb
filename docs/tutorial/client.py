import sys

import socketio

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"

with socketio.SimpleClient() as client:
    client.connect(url, namespace="/rooms/lobby")
    print("ack", client.call("message", {"text": "hello from Python"}))
    event, data = client.receive(timeout=5)
    while data.get("text") != "hello from Python":
        event, data = client.receive(timeout=5)
    print(event, data)
