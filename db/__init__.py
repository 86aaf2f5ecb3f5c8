"""Persistence: typed models, the engine, and every SQL statement (in `db.queries`)."""
