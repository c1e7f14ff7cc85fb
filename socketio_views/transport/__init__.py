"""
The transport: python-socketio and python-engineio, put to work for channels.

One module per concern; open the one you need:

=====================  ==========================================================
``engine``             the adapter: the only module that subclasses the libraries
                       and names their private hooks (the table ``HOOKS``)
``server``             the process-wide server: connections and subscriptions
                       start and end, identities end; ``get_server()``
``connections``        one ``Connection`` record per connection and its ``close()``
``endpoint``           the Django view of the Socket.IO endpoint; every HTTP refusal
``environ``            what the endpoint leaves in the WSGI environ
``websocket``          the frame guard (size, Engine.IO framing)
``guards``             the packet guards (not subscribed, attachments, malformed)
``acks``               server-to-client acknowledgements (``MAX_PENDING_ACKS``)
``delivery``           hold, gate, dedupe, overflow and the slow-consumer policy
``writes``             the WebSocket write path: frames built once, writes coalesced
``replay``             recovery: history replayed after a confirmation
``managers``           the pub/sub managers of ``BACKEND`` and control messages
``cluster``            a Redis Cluster ``BACKEND``: its client, and its shards'
                       pub/sub read as one stream
=====================  ==========================================================
"""
