"""One network deployed three ways: fp32, fp16 and int8 side by side (Explore's lesson).

Params and MACs do not change with the precision; what does, each from the rule that owns it:
the weights as stored and the deployment peak (:mod:`lightviz.deployment`, MCUNet's rule),
the latency on the chosen device (:mod:`lightviz.latency.devices.sources`: measured, predicted
or published, ``none`` where nothing is known; never fp32 scaled) and the top-1
(:mod:`lightviz.accuracy_int8`: int8 where the family has published int8 points, ``none``
elsewhere). A student sees that int8 is four times smaller but not always faster.
Streamlit-free, so a page and a command read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from .accuracy_int8 import PrecisionTop1, estimate_for
from .config import PRECISIONS
from .counting import Profile
from .deployment import deployment_memory
from .latency.devices.figure import THIS_HOST, DeviceLatency
from .latency.devices.sources import latency_on


@dataclass(frozen=True)
class AtPrecision:
    """The network at one precision: weight bytes (params x bytes per value, as Explore's card
    says; :class:`lightviz.deployment.DeploymentMemory` has them as stored, BN folded), the
    deployment peak (SRAM, MCUNet's rule without in-place depthwise), the latency on a device,
    the top-1 estimate."""

    precision: str
    weight_bytes: int
    peak_bytes: int
    latency: DeviceLatency
    top1: PrecisionTop1


def side_by_side(profile: Profile, on: str = THIS_HOST, setup=None) -> list[AtPrecision]:
    """``profile``'s network at each of :data:`lightviz.config.PRECISIONS` on the device ``on``;
    ``setup`` (this host's, e.g. Explore's) is used for its own dtype, the most recent
    calibration in each other precision otherwise."""
    out = []
    for p in PRECISIONS:
        mem = deployment_memory(profile, p, in_place=False)
        what = setup if setup is not None and on == THIS_HOST and setup.dtype == p else p
        out.append(AtPrecision(p, mem.weight_bytes, mem.peak_bytes,
                               latency_on(on, profile.config, what),
                               estimate_for(profile.config, p)))
    return out
