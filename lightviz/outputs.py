"""What ``lightviz profile`` writes and the app's downloads hold: one builder per format, at a
precision, so a downloaded file and the command's output are the same bytes."""

from __future__ import annotations

from .config import DEFAULT_PRECISION, PRECISION_BYTES
from .counting import BYTES_PER_VALUE, Profile


def profile_json(prof: Profile, dtype: str = DEFAULT_PRECISION) -> dict:
    """``lightviz profile --format json``: the profile, the top-1 estimate at ``dtype`` (with
    the quantization it stands for) and the deployment memory at ``dtype``."""
    from .accuracy_int8 import estimate_for
    from .deployment import memory_fields

    return {**prof.to_dict(), "top1": estimate_for(prof.config, dtype).to_dict(),
            **memory_fields(prof, dtype)}


def layers_csv(prof: Profile, dtype: str = DEFAULT_PRECISION) -> str:
    """``lightviz profile --format csv``: every row, with its weight and output bytes at
    ``dtype`` (params and MACs as counted: they do not change with the precision)."""
    b = PRECISION_BYTES[dtype]
    return prof.layers.assign(dtype=dtype, weight_bytes=prof.layers["params"] * b,
                              activation_bytes=prof.layers["out_bytes"] // BYTES_PER_VALUE * b
                              ).to_csv(index=False)
