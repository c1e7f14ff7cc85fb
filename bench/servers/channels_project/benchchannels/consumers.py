"""The bench's channel on Django Channels 4: one group per room.

Connect to ``/ws/rooms/<room>/?name=NAME``; every JSON message
``{"text": ..., ...}`` is sent to the room's group with ``group_send`` and
delivered to each member (the sender included) as
``{"user", "text", ...payload}``. A message carrying ``"ack": ID`` is
answered with ``{"ack": ID, "ok": true}``.
"""
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

MAX_NAME = 30
MAX_TEXT = 500


class RoomConsumer(AsyncJsonWebsocketConsumer):
    group = None

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode())
        name = (query.get("name") or [""])[0].strip()
        if not name:
            await self.close(code=4001)
            return
        self.name = name[:MAX_NAME]
        self.group = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        data = content if isinstance(content, dict) else {}
        text = str(data.get("text", "")).strip()
        if not text:
            return
        ack = data.pop("ack", None)
        await self.channel_layer.group_send(
            self.group,
            {"type": "room.message", "message": {**data, "user": self.name, "text": text[:MAX_TEXT]}},
        )
        if ack is not None:
            await self.send_json({"ack": ack, "ok": True})

    async def room_message(self, event):
        await self.send_json(event["message"])
