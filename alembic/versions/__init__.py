"""Migration scripts (one file per revision, loaded by Alembic by path)."""
