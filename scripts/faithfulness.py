"""Rule faithfulness: deletion/insertion, pointing game and smoothness of every video of one bucket."""

from _stage import logged

from videoxai.study.faithfulness import faithfulness_bucket
from videoxai.study.pipeline import log_to_stderr, torch_device

params = snakemake.params
with logged(snakemake, threads=True):
    faithfulness_bucket(
        params.videos,
        snakemake.input.clips,
        params.explain_shards,
        snakemake.input.selective,
        snakemake.output[0],
        model_settings=params.model,
        methods=params.methods,
        n=params.n,
        settings=params.settings,
        batch_size=snakemake.config["faithfulness"]["batch_size"],
        device=torch_device(snakemake.config["device"]),
        progress=log_to_stderr,
    )
