# Getting videos and turning each into model-sized clips.


rule fetch_sample_videos:
    output:
        [f"{SAMPLE_VIDEOS_DIR}/{name}" for name in config["videos"]["files"]]
        if config["videos"]["source"] == "sample_videos"
        else [],
    log:
        f"{RESULTS}/logs/fetch_sample_videos.log",
    conda:
        "../../envs/videoxai.yaml"
    script:
        "../../scripts/fetch_sample_videos.py"


rule decode:
    input:
        video=video_file,
        preflight=PREFLIGHT,
    output:
        shard("clips"),
    log:
        log_file("decode"),
    conda:
        "../../envs/videoxai.yaml"
    params:
        video=video_entry,
        geometry=GEOMETRY,
        clips=config["clips"],
    script:
        "../../scripts/decode.py"
