"""Rule collect_failures: every video whose shards record a failure -> failed_videos.csv."""

import csv

from _stage import logged

from videoxai.data.shards import read_attributes

with logged(snakemake) as log:
    rows = {}
    for path in snakemake.params.shards:
        attributes = read_attributes(path)
        if attributes.get("status") != "failed" or attributes["video_id"] in rows:
            continue
        rows[attributes["video_id"]] = {
            "video_id": attributes["video_id"],
            "path": attributes.get("video_path", ""),
            "stage": attributes.get("failed_stage", attributes.get("stage", "")),
            "reason": attributes.get("failure_reason", ""),
        }
    with open(snakemake.output[0], "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["video_id", "path", "stage", "reason"])
        writer.writeheader()
        writer.writerows(sorted(rows.values(), key=lambda row: row["video_id"]))
    log.info("%d failed videos", len(rows))
