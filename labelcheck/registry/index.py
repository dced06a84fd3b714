"""The registry in memory: Hamming search over 256-bit codes, and the indexes built with it.

`BinaryIndex` is the one search the registry needs (exhaustive, over packed codes).
`RegistryIndex` holds what matching reads on every query, loaded from `Storage`: the assets,
every PDQ fingerprint in one `BinaryIndex`, every original's spread-out ORB descriptors in
another (their votes find the original of a crop), and the full features of recently matched
originals. It reloads when the assets change, and answers with `Candidate`s for the matcher
to confirm.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from labelcheck.registry.features import LocalFeatures
from labelcheck.registry.references import Reference
from labelcheck.registry.storage import Asset, Storage

INDEX_CODES = 256  # descriptors per original in the crop-finding index
QUERY_CODES = 256  # descriptors of a query that vote (512 ranked crops no better)
PDQ_RADIUS = 90  # unrelated pictures sit at 128 +- 16 bits; candidates are verified anyway
PDQ_TOP_K = 8
VOTE_RADIUS = 48
MIN_VOTES = 6
MAX_CANDIDATES = 2  # per stage and orientation; a crop's original ranked first in 131 of 132


class BinaryIndex:
    """Exhaustive Hamming search over 256-bit codes (PDQ hashes, ORB descriptors).

    Codes are kept as four uint64 columns, so one query is four XOR + popcount passes over
    contiguous memory (numpy's `bitwise_count`), in blocks that stay in cache: about 3.5 ms per
    query per million codes on one core. The interface (add with ids, remove by id, the k
    nearest within a radius) is what FAISS's ``IndexBinaryIDMap`` over ``IndexBinaryFlat`` or
    ``IndexBinaryHNSW`` offers (``add_with_ids``, ``remove_ids``, ``range_search``), so a larger
    registry can swap this class for one of those without touching its callers.
    """

    BLOCK = 65536

    def __init__(self) -> None:
        self._columns = np.empty((4, 0), np.uint64)
        self._ids = np.empty(0, np.int64)

    def __len__(self) -> int:
        return int(self._ids.size)

    def add(self, ids: Iterable[int], codes: np.ndarray) -> None:
        """Add codes ((n, 32) uint8) under the given ids (several codes may share an id)."""
        codes = np.ascontiguousarray(codes, np.uint8).reshape(-1, 32)
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), np.int64)
        if ids.size != len(codes):
            raise ValueError(f"{ids.size} ids for {len(codes)} codes")
        self._columns = np.concatenate([self._columns, codes.view(np.uint64).T], axis=1)
        self._ids = np.concatenate([self._ids, ids])

    def remove(self, ids: Iterable[int]) -> None:
        """Drop every code stored under one of `ids`."""
        keep = ~np.isin(self._ids, np.asarray(list(ids), np.int64))
        self._columns = np.ascontiguousarray(self._columns[:, keep])
        self._ids = self._ids[keep]

    def distances(self, code: np.ndarray) -> np.ndarray:
        """Hamming distance from one code ((32,) uint8) to every stored code, as uint16."""
        query = np.ascontiguousarray(code, np.uint8).view(np.uint64)
        total = len(self)
        out = np.empty(total, np.uint16)
        word = np.empty(min(total, self.BLOCK), np.uint64)
        bits = np.empty(min(total, self.BLOCK), np.uint8)
        for start in range(0, total, self.BLOCK):
            stop = min(total, start + self.BLOCK)
            size = stop - start
            for column in range(4):
                np.bitwise_xor(self._columns[column, start:stop], query[column], out=word[:size])
                np.bitwise_count(word[:size], out=bits[:size])
                if column == 0:
                    np.copyto(out[start:stop], bits[:size])
                else:
                    np.add(out[start:stop], bits[:size], out=out[start:stop])
        return out

    def search(self, queries: np.ndarray, k: int, radius: int) -> list[list[tuple[int, int]]]:
        """For each query code, up to `k` (id, distance) pairs within `radius`, nearest first."""
        results = []
        for code in np.ascontiguousarray(queries, np.uint8).reshape(-1, 32):
            dist = self.distances(code)
            rows = np.flatnonzero(dist <= radius)
            if rows.size > k:
                rows = rows[np.argpartition(dist[rows], k - 1)[:k]]
            rows = rows[np.argsort(dist[rows], kind="stable")]
            results.append(list(zip(self._ids[rows].tolist(), dist[rows].tolist())))
        return results


@dataclass
class Candidate:
    """An original that a query may be a copy of, and why: its PDQ distance, or the
    (original, query) point pairs whose descriptors voted for it."""

    asset_id: int
    flipped: bool
    pdq_distance: int | None
    found_by: str  # "pdq" or "local features"
    votes: tuple[np.ndarray, np.ndarray] | None = None


def index_entries(features: LocalFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The descriptors ((n, 32) uint8) and points an original puts in the crop-finding
    index: `INDEX_CODES` of them, spread over the picture."""
    spread = features.spread_order()[:INDEX_CODES]
    return features.descriptors[spread], features.points[spread]


class RegistryIndex:
    """The registered originals as matching reads them, loaded from `storage`.

    Loaded on the first `refresh` and again whenever the assets changed (another process added
    or removed an original), which `refresh` checks with one cheap query.
    """

    CACHE = 256  # originals' local features kept in memory

    def __init__(self, storage: Storage):
        self.storage = storage
        self.assets: dict[int, Asset] = {}
        self._signature: tuple | None = None
        self._pdq = BinaryIndex()
        self._fp_ids = np.empty(0, np.int64)  # fingerprint ids, ascending
        self._fp_assets = np.empty(0, np.int64)
        self._fp_flipped = np.empty(0, bool)
        self._fp_times = np.empty(0, float)  # NaN for images
        self._codes = BinaryIndex()  # ids are rows of the two arrays below
        self._code_assets = np.empty(0, np.int64)
        self._code_points = np.empty((0, 2), np.float32)
        self._local_cache: OrderedDict[int, tuple[LocalFeatures, list[Reference]]] = \
            OrderedDict()

    def refresh(self) -> bool:
        """Reload if the assets changed; whether any asset is registered."""
        signature = self.storage.signature()
        if signature != self._signature:
            self._load(bool(signature and signature[0]))
            self._signature = signature
        return bool(self.assets)

    def _load(self, any_assets: bool) -> None:
        self.assets = {asset.id: asset for asset in self.storage.list()} if any_assets else {}
        prints, coded = self.storage.index_rows() if any_assets else ([], [])
        self._fp_ids = np.array([r[0] for r in prints], np.int64)
        self._fp_assets = np.array([r[1] for r in prints], np.int64)
        self._fp_flipped = np.array([r[2] == "flip" for r in prints], bool)
        self._fp_times = np.array([np.nan if r[4] is None else r[4] for r in prints], float)
        self._pdq = BinaryIndex()
        self._pdq.add(self._fp_ids,
                      np.frombuffer(b"".join(bytes(r[3]) for r in prints), np.uint8))
        codes = np.frombuffer(b"".join(bytes(r[1]) for r in coded), np.uint8).reshape(-1, 32)
        self._code_points = np.frombuffer(b"".join(bytes(r[2]) for r in coded),
                                          np.float32).reshape(-1, 2)
        self._code_assets = np.repeat(np.array([r[0] for r in coded], np.int64),
                                      [len(r[1]) // 32 for r in coded])
        self._codes = BinaryIndex()
        self._codes.add(np.arange(len(codes)), codes)
        self._local_cache.clear()

    def original(self, asset_id: int) -> tuple[LocalFeatures, list[Reference]]:
        """An original's features and pixel references, thumbnail first (read from the
        database, then cached)."""
        if asset_id in self._local_cache:
            self._local_cache.move_to_end(asset_id)
            return self._local_cache[asset_id]
        entry = self.storage.local(asset_id)
        self._local_cache[asset_id] = entry
        if len(self._local_cache) > self.CACHE:
            self._local_cache.popitem(last=False)
        return entry

    def pdq_search(self, hashes: np.ndarray) -> list[list[tuple[int, int]]]:
        """The PDQ stage alone: nearest fingerprint ids per query hash (timed by the bench)."""
        return self._pdq.search(hashes, PDQ_TOP_K, PDQ_RADIUS)

    def _row(self, fp_id: int) -> int:
        return int(np.searchsorted(self._fp_ids, fp_id))

    def pdq_candidates(self, hashes: np.ndarray) -> list[Candidate]:
        """The originals (and orientations) whose fingerprints are nearest to the query
        hashes, best first."""
        best: dict[tuple[int, bool], int] = {}
        for hits in self.pdq_search(hashes):
            for fp_id, distance in hits:
                row = self._row(fp_id)
                key = (int(self._fp_assets[row]), bool(self._fp_flipped[row]))
                best[key] = min(distance, best.get(key, 256))
        ranked = sorted(best.items(), key=lambda item: item[1])[:MAX_CANDIDATES]
        return [Candidate(asset_id, flipped, distance, "pdq")
                for (asset_id, flipped), distance in ranked]

    def vote_candidates(self, features: LocalFeatures, flipped: bool) -> list[Candidate]:
        """Originals whose indexed descriptors the query's descriptors hit most; each query
        descriptor votes once per original, with its nearest hit there as a point pair."""
        order = features.spread_order()[:QUERY_CODES]
        pairs: dict[int, list[tuple[int, int]]] = {}
        for row, hits in zip(order, self._codes.search(features.descriptors[order], 4,
                                                       VOTE_RADIUS)):
            seen = set()
            for code, _distance in hits:
                asset_id = int(self._code_assets[code])
                if asset_id not in seen:
                    seen.add(asset_id)
                    pairs.setdefault(asset_id, []).append((code, int(row)))
        ranked = sorted(pairs.items(), key=lambda item: -len(item[1]))
        return [Candidate(asset_id, flipped, None, "local features",
                          (self._code_points[[c for c, _ in hit]],
                           features.points[[r for _, r in hit]]))
                for asset_id, hit in ranked[:MAX_CANDIDATES] if len(hit) >= MIN_VOTES]

    def frame_votes(self, prints: list[tuple[float, bytes]]
                    ) -> dict[int, list[tuple[float, float, int]]]:
        """For sampled frames (time, PDQ hash) of a video, the votes their nearest frames of
        registered videos cast: per original, (time offset, copy time, distance)."""
        votes: dict[int, list[tuple[float, float, int]]] = {}
        for (time_s, _), hits in zip(prints, self.pdq_search(
                np.frombuffer(b"".join(code for _, code in prints), np.uint8).reshape(-1, 32))):
            for fp_id, distance in hits:
                row = self._row(fp_id)
                original_s = self._fp_times[row]
                if not np.isnan(original_s):
                    votes.setdefault(int(self._fp_assets[row]), []).append(
                        (time_s - original_s, time_s, distance))
        return votes
