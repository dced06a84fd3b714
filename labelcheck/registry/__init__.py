"""The reference registry: disclosed originals, recognised again in copies that lost their label.

Performers, agencies and brands register the disclosed originals of their AI content. Every
copy of a registered original is reported AI-made, so an original is taken only when it is
known to be AI-made: its owner declares it, or its scan finds AI evidence (`Registry.add`;
`NotAiMade` otherwise). For each original the registry keeps why it is held as AI-made, what
it disclosed, as `labelcheck.scan` reads it (visible badges with their boxes; C2PA, IPTC and
AIGC layers), a preview made from the scanned pixels (for the pages that show it), and what
it takes to recognise it again:

- PDQ hashes of the picture and of its mirror image (`features`), searched exhaustively in
  a `BinaryIndex` (`index`; a few milliseconds per query hash at a million fingerprints). PDQ
  survives metadata strips, re-encoding, rescaling and small overlays, and padding or
  screenshot frames once the query's borders are trimmed. It does not survive crops: 5 % off
  each side already moves a hash about 80 of 256 bits, as far as an unrelated picture
  (bench/registry.py measures it).
- ORB keypoints and descriptors, with the badges masked out so that two pictures sharing a badge
  never match on it. A spread-out subset of each original's descriptors sits in a second
  `BinaryIndex`; their votes find the original of a crop when PDQ has no candidate.

A candidate is confirmed by RANSAC on a similarity transform (rotation, scale, translation, and
a mirror when the copy is flipped) over ratio-tested ORB matches, and then by the pixels. Ads
share words in the same fonts, and one shared word gives a hundred consistent inliers, so a
match needs all of: enough inliers, a high inlier share, inliers spread over the part of the
original that the copy shows, and the copy's pixels agreeing with a small stored thumbnail of
the original over a large enough part of it (band-passed, so similar backgrounds do not
count). On the generated suite the geometric tests alone let none of 8,370 false candidate
pairs (400 look-alikes) through; over 1,000 look-alikes one got through them (a price tag in
the same font, the copy showing 8 % of the original), and the pixel tests stop it. Voted
candidates get the pixel test first, on the transform their vote pairs support, which spares
most unrelated pictures the full descriptor matching. The transform maps the original's badge
boxes into the copy, where `labelcheck.sources.registry` checks whether each badge is still
there.

Videos are kept as the PDQ hashes of their sampled frames (`labelcheck.vision.video`), each with its
time (``registry_fingerprints.time_s``), plus the features of one representative frame. A video
copy's sampled frames vote for (original, time offset) pairs (`Matcher.match_video`): a trim
shifts every frame by the same offset, so the true original collects the votes of most frames
at one offset while chance PDQ neighbours scatter.

Where things are:

- `tables`: the three registry tables in the results store's database, `connect`,
  `RegistryError`.
- `storage`: `Storage`, the rows of each original (write, list, remove, read back), `Asset`,
  `Original` (what is stored for one) and `disclosures_of`.
- `index`: `BinaryIndex`, the Hamming search (what a FAISS backend would implement), and
  `RegistryIndex`, the registry in memory (PDQ and descriptor-vote indexes, reloaded when the
  assets change), which proposes `Candidate`s.
- `matcher`: `Matcher`, which confirms candidates (geometry, pixels), maps badges into the copy
  and votes on a video's time offset; its results `Match`, `MappedBadge`, `VideoMatch`.
- `features`: PDQ (`pdq`, `content_box`, `query_hashes`, `video_prints`) and ORB features
  (`LocalFeatures`, `extract_features`).
- `geometry`: RANSAC alignment (`align`, `fit_similarity`) and its geometric acceptance tests.
- `references`: the stored thumbnail and badge patches, and the pixel comparison (`compare`).
- `core`: `Registry`, the one object callers use (add, list, remove, match pictures and
  videos), over the three parts above.
- `enrol`: `register_file`, which scans a file and adds it.
"""

from labelcheck.registry.core import Registry
from labelcheck.registry.features import content_box, query_hashes
from labelcheck.registry.geometry import MIN_INLIERS
from labelcheck.registry.index import PDQ_RADIUS, PDQ_TOP_K, BinaryIndex
from labelcheck.registry.matcher import MappedBadge, Match, VideoMatch
from labelcheck.registry.storage import Asset
from labelcheck.registry.tables import (NotAiMade, RegistryError, assets, connect,
                                        fingerprints, local_features)

__all__ = ["Asset", "BinaryIndex", "MIN_INLIERS", "MappedBadge", "Match", "NotAiMade",
           "PDQ_RADIUS", "PDQ_TOP_K", "Registry", "RegistryError", "VideoMatch", "assets",
           "connect", "content_box", "fingerprints", "local_features", "query_hashes"]
