"""docs/deployment.rst: a gunicorn.conf.py of your own, with socketio_views' worker hook."""
# [hook]
from socketio_views.tuning import post_worker_init  # noqa: F401
# [/hook]
