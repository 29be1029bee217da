"""newswatch's Alembic migrations, installed as the ``newswatch_alembic`` package.

This folder sits at the repository root under the name ``alembic``, so running Python from the
repository root (``python -m pytest``) would make ``import alembic`` find this folder instead of
the Alembic library. When that happens this module swaps itself for the real library.
"""

if __name__ == "alembic":  # imported by accident in place of the Alembic library
    import importlib as _importlib
    import os as _os
    import sys as _sys

    _root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    _saved_path = list(_sys.path)
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != _root]
    del _sys.modules["alembic"]
    try:
        _real = _importlib.import_module("alembic")
    finally:
        _sys.path[:] = _saved_path
    _sys.modules["alembic"] = _real
