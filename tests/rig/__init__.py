"""The test rig: real parts started for the tests (registries, a token server, base images).

Fixtures in tests/conftest.py wrap these; later issues' tests reuse them.
"""
