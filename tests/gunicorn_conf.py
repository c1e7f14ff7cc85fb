"""gunicorn settings of the tests: the worker tuning docs/deployment.rst recommends."""
from socketio_views.tuning import tune_for_serving


def post_worker_init(worker):
    tune_for_serving()
