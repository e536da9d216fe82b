# Selective relevance: a mask and a map per method and per n (sigma multiplier); with the
# calibrated test on, the calibrated maps and p-values against the study's pooled null.


rule selective:
    input:
        unpack(selective_inputs),
    output:
        shard("selective"),
    log:
        log_file("selective"),
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shard=video_bucket_shard("explain"),
        methods=METHODS,
        settings=config["selective"],
        static_control=config["static_control"]["enabled"],
    script:
        "../../scripts/selective.py"


# The calibrated test's null: every video's still copies (shifted by one pixel) against its still
# copy, pooled per method over the study's clips (videoxai.study.calibration).
rule calibration_null:
    input:
        [bucket_folder("explain", bucket) for bucket in BUCKETS],
    output:
        CALIBRATION_NULL,
    log:
        f"{RESULTS}/logs/calibration_null.log",
    conda:
        "../../envs/videoxai.yaml"
    params:
        explain_shards=EXPLAIN_SHARDS,
        methods=METHODS,
        settings=config["selective"]["calibration"],
    script:
        "../../scripts/calibration_null.py"
