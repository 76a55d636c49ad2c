"""Caption retrieval indexes: TF-IDF cosine and Okapi BM25, in plain numpy."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

METHODS = ("tfidf", "bm25")
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric word tokens."""
    return _TOKEN.findall(text.lower())


class _Index:
    def __init__(self, docs: Sequence[str]) -> None:
        tokens = [tokenize(d) for d in docs]
        self.vocab = {w: i for i, w in enumerate(sorted({w for t in tokens for w in t}))}
        self.counts = np.zeros((len(docs), len(self.vocab)))
        for row, toks in enumerate(tokens):
            for word, c in Counter(toks).items():
                self.counts[row, self.vocab[word]] = c
        n = len(docs)
        df = (self.counts > 0).sum(axis=0)
        self.n_docs = n
        self.df = df

    def _query_counts(self, queries: Sequence[str]) -> np.ndarray:
        q = np.zeros((len(queries), len(self.vocab)))
        for row, text in enumerate(queries):
            for word, c in Counter(tokenize(text)).items():
                j = self.vocab.get(word)
                if j is not None:
                    q[row, j] = c
        return q

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def nearest(self, queries: Sequence[str]) -> np.ndarray:
        """Index of the best document per query (ties → the lowest index)."""
        return np.argmax(self.scores(queries), axis=1)


class TfidfIndex(_Index):
    """Cosine similarity of smoothed TF-IDF vectors (idf = ln((1+n)/(1+df)) + 1)."""

    def __init__(self, docs: Sequence[str]) -> None:
        super().__init__(docs)
        self.idf = np.log((1 + self.n_docs) / (1 + self.df)) + 1.0
        self.doc_vecs = self._normalise(self.counts * self.idf)

    @staticmethod
    def _normalise(m: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        q = self._normalise(self._query_counts(queries) * self.idf)
        return q @ self.doc_vecs.T


class Bm25Index(_Index):
    """Okapi BM25 (k1 = 1.5, b = 0.75, idf = ln(1 + (n − df + 0.5)/(df + 0.5)))."""

    def __init__(self, docs: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        super().__init__(docs)
        self.idf = np.log1p((self.n_docs - self.df + 0.5) / (self.df + 0.5))
        lengths = self.counts.sum(axis=1, keepdims=True)
        avg = float(lengths.mean()) if self.n_docs else 0.0
        denom = self.counts + k1 * (1 - b + b * lengths / (avg or 1.0))
        self.weights = self.idf * self.counts * (k1 + 1) / np.where(denom > 0, denom, 1.0)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        return (self._query_counts(queries) > 0).astype(float) @ self.weights.T


def build_index(docs: Sequence[str], method: str = "tfidf") -> _Index:
    """An index over ``docs`` for one of :data:`METHODS`."""
    if method == "tfidf":
        return TfidfIndex(docs)
    if method == "bm25":
        return Bm25Index(docs)
    raise ValueError(f"unknown retrieval method {method!r}")
