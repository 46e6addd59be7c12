"""Random streams of one client: what a client draws does not depend on the other clients.

The bootstrap's Poisson weights, the held-out split and the sampled Shapley permutations are
drawn per client, each client from its own generator, ``numpy.random.default_rng`` of the
``SeedSequence`` of the entropy words (seed, purpose, *key, client hash): the client hash is the
first 8 bytes (little-endian) of the BLAKE2b digest of the UTF-8 client id, so a client's
numbers depend only on the seed, what they are for and the client itself, never on which other
clients are in the data or in the same batch (one batch of all clients or one per client give
the same numbers). Streams of different purposes, seeds or clients are independent in the sense
of ``SeedSequence`` (distinct entropy, hashed into distinct generator states).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

# what a stream is for (the second entropy word)
BOOTSTRAP = 0  # Poisson weights of every resample
HOLDOUT = 1  # the held-out split of the model comparison
SHAPLEY_SAMPLING = 2  # permutations of the sampled Shapley values (key: 0 point, r + 1 resample r)


def client_hash(client_id: str) -> int:
    """A stable 64-bit integer of the client id (BLAKE2b, 8-byte digest, little-endian)."""
    return int.from_bytes(hashlib.blake2b(client_id.encode("utf-8"), digest_size=8).digest(),
                          "little")


def client_generator(seed: int, purpose: int, client_id: str, *key: int) -> np.random.Generator:
    """The generator of one client's stream (see the module docstring)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([seed, purpose, *key,
                                                         client_hash(client_id)]))


def client_generators(seed: int, purpose: int, clients: Sequence[str], *key: int
                      ) -> list[np.random.Generator]:
    """``client_generator`` of each client, in the order of ``clients``."""
    return [client_generator(seed, purpose, c, *key) for c in clients]
