"""Thin callbacks: read inputs, call a twin service, hand plain data to a layout builder.

Each module has ``register_callbacks(app)``; :func:`app.create_app` calls them.
"""
