"""Thin blueprints: read the request, call one function, dump the result with its schema."""
