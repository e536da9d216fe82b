"""Rule explain: every method's relevance for every video of one bucket, the model loaded once."""

from _stage import logged

from videoxai.study.explain import explain_bucket
from videoxai.study.pipeline import log_to_stderr, torch_device

params = snakemake.params
with logged(snakemake, threads=True):
    explain_bucket(
        params.videos,
        snakemake.input.clips,
        snakemake.input.flow if "flow" in snakemake.input.keys() else None,
        snakemake.output[0],
        model_settings=params.model,
        methods=params.methods,
        method_options=params.method_options,
        target=params.target,
        label_map=params.label_map,
        stills=params.stills,
        batch_size=snakemake.config["explain"]["batch_size"],
        device=torch_device(snakemake.config["device"]),
        progress=log_to_stderr,
    )
