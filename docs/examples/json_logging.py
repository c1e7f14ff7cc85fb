# settings.py: every record of socketio_views, and runserver_socketio's access
# lines, as one JSON object per line, with the structured fields as keys
# (python-json-logger: pip install python-json-logger).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            # Named here, the fields come first and are present on every
            # record (null where they do not apply); python-json-logger adds
            # any other extra (status_code, server_time) after them.
            "fmt": (
                "{asctime}{levelname}{name}{message}"
                "{connection_id}{sid}{channel}{event}{code}"
            ),
            "style": "{",
        },
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "loggers": {
        "socketio_views": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["json"], "level": "INFO", "propagate": False},
    },
}
