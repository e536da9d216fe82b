"""Rule preflight: check the study's model, weights, methods, options and annotation file once,
before any video is processed (videoxai.study.stages.preflight). A configuration error fails this
job with one message naming the key; every per-video job waits for it, so nothing else runs."""

import json
import sys

from _stage import logged

from videoxai.core.errors import ConfigurationError
from videoxai.core.files import atomic_write
from videoxai.study.stages import preflight

with logged(snakemake) as log:
    try:
        summary = preflight(snakemake.params.config, device="cpu")
    except ConfigurationError as error:
        log.error("%s", error)
        print(f"videoxai: {error}", file=sys.__stderr__, flush=True)
        raise SystemExit(1) from None
    atomic_write(snakemake.output[0], lambda path: path.write_text(json.dumps(summary, indent=2) + "\n"))
    log.info("preflight passed: %s", summary)
