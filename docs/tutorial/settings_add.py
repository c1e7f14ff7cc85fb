INSTALLED_APPS += [
    "socketio_views",
    "chat",
]
