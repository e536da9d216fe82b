"""Reading weight files without ever executing arbitrary pickles."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch
from torch import nn

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import sha256_of


def _unpickling_reason(error: Exception) -> str:
    """The one informative sentence of torch's weights-only refusal (e.g. the blocked global)."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    paragraphs = [part.strip() for part in str(error).split("\n\n")]
    kept = [part for part in paragraphs if part and not part.startswith(boilerplate)]
    reason = " ".join(kept).replace("WeightsUnpickler error:", "").strip()
    return reason or type(error).__name__


def load_state_dict_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """Read a state dict of plain tensors from ``.safetensors`` or a ``.pt``/``.pth``/``.pickle``.

    Pickle-based files go through ``torch.load(weights_only=True)``, which refuses anything
    but tensors and containers. Returns the state dict (CPU tensors) and the file's sha256.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoXAIError("weight file not found", path)
    if path.stat().st_size == 0:
        raise VideoXAIError("weight file is empty", path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False, which is exactly what must not be done here.
        raise VideoXAIError(
            "refused: the file is not a plain state dict of tensors saved with torch.save "
            f"({_unpickling_reason(error)}); nothing in it was executed. "
            "Re-save it as .safetensors or with torch.save(model.state_dict(), ...)",
            path,
        ) from None
    except Exception as error:  # noqa: BLE001 - every reader error means the same thing to the user
        raise VideoXAIError(f"cannot read weights ({type(error).__name__}: {error})", path) from error
    for wrapper_key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper_key), dict):
            state = state[wrapper_key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VideoXAIError("weight file does not hold a state dict of tensors", path)
    state = {key.removeprefix("module."): value for key, value in state.items()}
    return state, sha256_of(path)


def load_strict(model: nn.Module, state: dict[str, torch.Tensor], source: str | os.PathLike) -> None:
    """Load ``state`` into ``model``; on any mismatch raise one error listing every problem."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shapes = sorted(
        f"{key}: file {tuple(state[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in set(expected) & set(state)
        if tuple(state[key].shape) != tuple(expected[key].shape)
    )
    problems = []
    if missing:
        problems.append("missing keys: " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    if wrong_shapes:
        problems.append("wrong shapes: " + "; ".join(wrong_shapes))
    if problems:
        raise VideoXAIError("weights do not fit the model — " + " | ".join(problems), source)
    model.load_state_dict(state, strict=True)
