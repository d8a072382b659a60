"""Marshmallow schemas: the single source of truth for records and API payloads."""
