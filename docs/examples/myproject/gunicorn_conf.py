"""docs/deployment.rst, docs/operations.rst: a gunicorn.conf.py of your own."""
# [hooks]
from socketio_views.tuning import child_exit, post_worker_init  # noqa: F401
# [/hooks]
