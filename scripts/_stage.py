"""Snakemake plumbing shared by the workflow scripts: the library on the path, and the rule's log.

Every script is one library call (videoxai.study.*) with the rule's input, output and params;
the loops, the failure passing and the file layout live in the library.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

try:
    import videoxai  # noqa: F401 - installed (the project's .venv)
except ImportError:  # a conda env from envs/ has the dependencies only: use this checkout's library
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from videoxai.core.errors import VideoXAIError


@contextlib.contextmanager
def logged(snakemake, threads: bool = False):
    """Send stderr and `logging` into the rule's log file for the duration of the block (and,
    with ``threads``, let torch use the rule's threads)."""
    if threads:
        import torch  # only the model steps pay for torch

        torch.set_num_threads(max(1, snakemake.threads))
    with open(snakemake.log[0], "w", encoding="utf-8") as handle:
        previous = sys.stderr
        sys.stderr = handle
        logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(message)s", force=True)
        try:
            yield logging.getLogger("videoxai.workflow")
        except VideoXAIError as error:  # a problem with what the user gave: one line, no traceback
            for stream in (handle, sys.__stderr__):
                print(f"videoxai: error: {error}", file=stream, flush=True)
            raise SystemExit(1) from None
        except BaseException:
            traceback.print_exc(file=handle)
            raise
        finally:
            handle.flush()
            sys.stderr = previous
