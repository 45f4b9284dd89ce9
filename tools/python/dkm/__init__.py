"""dkm from Python: k-means weight sharing, the Deep k-Means re-training regulariser, dkm's compressed
container and the energy estimator (docs/python.md). The compiled functions live in dkm._dkm; the
PyTorch integration is dkm.torch (imported on demand, so numpy-only users need no torch).

Arrays go in as numpy arrays (read in place when already C-contiguous of the right dtype) and come out
as numpy arrays that own their buffers.
"""
import types as _types

from dkm._dkm import (  # noqa: F401
    InputError,
    Model,
    Plan,
    UsageError,
    activation_weights,
    compression_ratio,
    count_distinct,
    decompress,
    estimate,
    hard_basis,
    hard_basis_from_labels,
    inertia,
    kmeans,
    load_model,
    load_plan,
    parse_plan,
    read_compressed,
    regularizer,
    resolve_plan,
    spectral_basis,
    write_compressed,
    zoo_names,
)
from dkm.sharing import (  # noqa: F401
    share_weight,
    vectors_of,
)

__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and not isinstance(value, _types.ModuleType))
