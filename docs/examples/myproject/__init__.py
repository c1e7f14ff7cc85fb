"""The documentation's project (urls.py, wsgi.py, settings fragments), exercised by tests/test_docs_examples.py."""
