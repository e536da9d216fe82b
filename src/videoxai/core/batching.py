"""Which videos share one job of a stage that loads a model (explain, faithfulness, randomisation).

A job that loads a model pays for start-up (imports, the model, CUDA) before its first clip,
so those stages run one job per *bucket* of videos. A video's bucket depends only on its id
and the number of buckets, never on the other videos, so adding a video reruns only its bucket.
The number of buckets is the power of two at or above ``videos / videos_per_job``: it changes
only when the study doubles (or halves) in size, and then each bucket splits in two (or two
merge), which reruns every bucket once. Torch-free: the workflow calls it while building its DAG.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable


def bucket_count(videos: int, videos_per_job: int) -> int:
    """Buckets for ``videos`` videos at about ``videos_per_job`` each: the power of two
    ``>= ceil(videos / videos_per_job)`` (at least 1)."""
    if videos_per_job < 1:
        raise ValueError(f"videos_per_job must be at least 1, got {videos_per_job}")
    needed = max(1, math.ceil(videos / videos_per_job))
    return 1 << (needed - 1).bit_length()


def bucket_index(video_id: str, count: int) -> int:
    """The bucket of ``video_id`` among ``count`` (a power of two): the low bits of its SHA-256.

    With low bits, doubling ``count`` splits every bucket in two and keeps each video in one of
    the halves of its old bucket.
    """
    digest = hashlib.sha256(video_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % count


def bucket_name(index: int, count: int) -> str:
    """A bucket's name in paths: ``b<count>_<index>`` (``b16_03``): the count is part of it, so
    shards of an earlier bucketing are never mistaken for this one's."""
    return f"b{count}_{index:0{len(str(count - 1))}d}"


def assign_buckets(video_ids: Iterable[str], videos_per_job: int) -> dict[str, list[str]]:
    """Bucket name -> its video ids (in the given order), for the non-empty buckets only."""
    ids = list(video_ids)
    count = bucket_count(len(ids), videos_per_job)
    buckets: dict[str, list[str]] = {}
    for video_id in ids:
        buckets.setdefault(bucket_name(bucket_index(video_id, count), count), []).append(video_id)
    return dict(sorted(buckets.items()))


def spread_selection(video_ids: Iterable[str], count: int | None) -> list[str]:
    """At most ``count`` of ``video_ids``, spread evenly over the list (all when ``count`` is None
    or not smaller): positions ``round(i (V - 1) / (count - 1))``, so a listing sorted by class
    gives every class its share, and the choice depends only on the listing."""
    ids = list(video_ids)
    if count is None or count >= len(ids):
        return ids
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if count == 1:
        return ids[:1]
    positions = sorted({round(index * (len(ids) - 1) / (count - 1)) for index in range(count)})
    return [ids[position] for position in positions]
