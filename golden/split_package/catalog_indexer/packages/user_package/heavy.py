"""Numeric helpers with heavy third-party imports at module level.

Importing this module pulls in numpy (and torch, where installed). A static
compiler must read it, never import it.
"""

import hashlib

import numpy as np

try:
    import torch
except ImportError:  # CPU-only development machines.
    torch = None

VECTOR_DIM = 256


def _bucket(term: str) -> int:
    return int(hashlib.sha1(term.encode()).hexdigest(), 16) % VECTOR_DIM


def term_vector(text: str) -> np.ndarray:
    """Hashed bag-of-words vector of `text`."""
    vector = np.zeros(VECTOR_DIM, dtype=np.float32)
    for term in text.lower().split():
        vector[_bucket(term)] += 1.0
    return vector


def l2_norm(vector: np.ndarray) -> float:
    if torch is not None:
        return float(torch.linalg.vector_norm(torch.from_numpy(vector)))
    return float(np.linalg.norm(vector))


def top_terms(text: str, k: int = 5) -> list[str]:
    terms, counts = np.unique(np.array(text.lower().split() or [""]), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:k]
    return [str(terms[i]) for i in order if terms[i]]
