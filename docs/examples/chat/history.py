"""docs/history.rst: a channel that keeps its broadcasts."""
from socketio_views import ChannelView


def room_snapshot(room):
    """What a newcomer to ``room`` sees first."""
    return {"room": room, "topic": "Welcome"}


# [history]
class RoomChannel(ChannelView):
    history = 100                  # broadcasts kept per channel
    history_ttl = 24 * 3600        # forgotten after a day of silence
    history_events = {"message"}   # typing notices are not worth keeping
    send_history_on_subscribe = 50 # a newcomer receives the last 50

    def on_subscribe(self, room):
        if not self.recovered:
            self.send(room_snapshot(room), event="snapshot")
# [/history]
