"""The documentation's chat app (docs/routing.rst, docs/channels.rst, ...), exercised by tests/test_docs_examples.py."""
