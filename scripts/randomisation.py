"""Rule randomisation: the cascading model-parameter randomisation test for every video of one bucket."""

from _stage import logged

from videoxai.study.pipeline import log_to_stderr, torch_device
from videoxai.study.randomisation import randomisation_bucket

params = snakemake.params
with logged(snakemake, threads=True):
    randomisation_bucket(
        params.videos,
        snakemake.input.clips,
        snakemake.output[0],
        model_settings=params.model,
        methods=params.methods,
        method_options=params.method_options,
        selective=params.selective,
        settings=params.settings,
        device=torch_device(snakemake.config["device"]),
        progress=log_to_stderr,
    )
