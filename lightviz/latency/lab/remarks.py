"""What a result must say beside its figures: warnings (a spread too wide to trust, few runs, a
busy host, unlocked Jetson clocks) and notes (how the network ran: batch norms folded or not,
cuDNN autotuning, TF32, the CUDA graph's static input)."""

from __future__ import annotations

from ..setup import SPREAD_LIMIT, Setup


def warnings_for(r) -> list[str]:
    out = []
    if r.spread > SPREAD_LIMIT:
        load = r.passport.get("cpu", {}).get("load_1min")
        cores = r.passport["cpu"].get("usable_cores")
        load_txt = f" (1-minute load {load:.1f} on {cores} cores)" if load is not None else ""
        out.append(
            f"spread too wide to trust: the IQR ({r.iqr_ms:.3g} ms) is {r.spread:.0%} of the median "
            f"(limit {SPREAD_LIMIT:.0%}). Something else is using this host{load_txt}, the clocks "
            "are changing, or the budget is too short: close other work and measure again")
    if r.runs < 10:
        out.append(f"only {r.runs} timed runs: one run takes about {r.median_ms:.0f} ms against a "
                   f"{r.setup.budget_s:g} s budget; raise the budget for steadier percentiles")
    cpu = r.passport.get("cpu", {})
    load, cores = cpu.get("load_1min"), cpu.get("usable_cores") or 1
    if load is not None and load > cores and r.spread <= SPREAD_LIMIT:
        out.append(f"the host is busy (1-minute load {load:.1f} on {cores} cores): other work may "
                   "slow this measurement")
    j = r.passport.get("jetson")
    if j and (j.get("jetson_clocks") or {}).get("state") == "off":
        out.append("jetson_clocks is off: DVFS changes the clocks during the run, so latency "
                   "depends on what ran before; `sudo jetson_clocks` locks them for benchmarking")
    return out


def notes_for(setup: Setup) -> list[str]:
    notes = []
    if setup.fold_bn:
        notes.append("batch norms folded into the convs, as deployed; MACs and params are the "
                     "unfolded network's")
    else:
        notes.append("batch norms timed unfused: a deployment folds them into the "
                     "convs, so this overstates their cost")
    if setup.device.startswith("cuda"):
        notes.append("cuDNN autotuning (torch.backends.cudnn.benchmark) was on; the cold call includes it")
        import torch

        if setup.dtype == "fp32" and torch.backends.cudnn.allow_tf32:
            notes.append("fp32 convolutions ran in TF32 on tensor cores where the GPU has them "
                         "(torch.backends.cudnn.allow_tf32 = True, PyTorch's default)")
        if setup.mode == "cudagraph":
            notes.append("CUDA-graph replays reuse one static input: copying a new image in is not timed")
    return notes
