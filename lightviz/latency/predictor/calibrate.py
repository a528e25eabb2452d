"""The calibration campaign: measure a spread of configurations on this host within a time
budget, then fit the latency model (:mod:`lightviz.latency.predictor.model`) on them.

**Design.** Round-robin over the eight architectures (an interrupted campaign stays balanced),
and within each architecture a scrambled Halton sequence (Cranley-Patterson rotation, seeded)
over width and input size: alpha log-uniform in 0.25-2, the input side uniform in its square
root over 32-512 px (MACs grow with its square, so small and large inputs are both well
represented); ShuffleNet v1 cycles through its five group counts. A low-discrepancy sequence
fills the square evenly for any prefix, which random draws do not.

**Cost.** Before a point is measured its cost is estimated from its MACs and op count at the
throughput measured so far; a point that would not fit the rest of the budget, or would take
more than a few seconds on its own, is skipped for the next one (the largest networks at
512 px take seconds per call on one core: the model extrapolates to them from its MACs and
bytes terms). Each point is measured with the protocol (host lock per point, so other sessions'
measurements interleave; warm-up; median of timed runs within ``point_budget_s``) and stored.

A campaign always measures the minimum the fit needs (12 points): past the budget, only points
estimated at under a second go on, for at most a minute more.

Ctrl-C (``KeyboardInterrupt``) stops the campaign: what was measured is kept and fitted.

**Short networks.** A kernel campaign measures an edited table after every third network
and, after every third too, a *short* one: the same architecture's table cut to a few blocks
at a low width and input (:func:`.design.short_settings`), a network of 0.2-3 ms where the
zoo's run for 2 ms and more, so the network term is fitted where a plugin's toy family or a
student's cut-down table runs.

**Kernel chains.** A kernel campaign also times a kernel chain (:mod:`.chains`: a short random
network of kernels drawn over the shapes the Design page accepts, belonging to no family) after
every :data:`CHAIN_EVERY`-th network, so every kind is timed on shapes no family of the zoo has
(a family left out, or a plugin, still finds its kernels timed).

**The host's drift.** A kernel campaign times the host probe every ten seconds and takes the
slow stretches out of what it measured (:mod:`.drift`), so the model is for the undisturbed host.

**Which model.** PyTorch (``--runtime torch``, eager or a CUDA graph) is timed whole in the
setup's mode and op by op in place (:meth:`~lightviz.latency.lab.protocol.Bench.op_times`; for a
CUDA graph each op's kernels on the device alone) and gets the kernel model. The other
runtimes (ONNX Runtime, TensorRT, torch.compile) run the network as one graph of their own fused
kernels, and an int8 graph exists only there: timing PyTorch's eager ops would calibrate another
runtime, so their campaigns time whole networks on the runtime itself, in the setup's precision,
and fit the whole-network model (:func:`in_place_ops`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import ALPHA_MAX, ALPHA_MIN, RESOLUTION_MAX, RESOLUTION_MIN, Config
from ...configure import make_config
from ...counting import count
from ...zoo import REGISTRY
from ..setup import MIN_RUNS, WARMUP_MIN, Setup
from . import model as M
from . import probe as P
from . import store
from .chains import Chain, chains
from .design import kernel_design
from .drift import Drift, deflate
from .kernels import host_channel_block, timed_kernels, with_times

DEFAULT_BUDGET_S = 150.0  # measuring; with the fit, under 3 minutes for one CPU setup
POINT_BUDGET_S = 0.3


def point_budget(budget_s: float) -> float:
    """Seconds per point for a campaign of ``budget_s``: 0.3 at the default 150 s, less for a
    short campaign (at least 0.05), so even a few seconds measure enough points to fit."""
    return min(POINT_BUDGET_S, max(0.05, budget_s / 500.0))
BUILD_S = 0.15  # build, BN calibration and folding of a small network
QUANTIZE_S = 2.0  # int8: the ONNX export and its static quantization, a small network
MAX_POINT_S = 8.0
SMALL_POINT_S = 1.0  # below the minimum to fit, points this cheap go on past the budget ...
OVERTIME_S = 60.0  # ... for at most this long
CHAIN_EVERY = 2  # a kernel campaign times a kernel chain after every second network


def _halton(i: int, base: int) -> float:
    f, r = 1.0, 0.0
    while i > 0:
        f /= base
        r += f * (i % base)
        i //= base
    return r


def _groups(arch: str, i: int):
    """The i-th point's group count: ShuffleNet v1 cycles through its variants (the paper's
    g = 3 first), as does any family with a ``groups`` variant; None for the rest."""
    v = REGISTRY[arch].variant("groups")
    if v is None:
        return None
    order = (v.default,) + tuple(g for g in v.values if g != v.default)
    return order[i % len(order)]


def design(per_arch: int = 64, seed: int = 0, archs=None) -> list[Config]:
    """Candidate configurations in the order they are measured (see the module doc); ``archs``
    defaults to the built-in architectures (plugins are predicted from the same per-op terms)."""
    if archs is None:
        archs = REGISTRY.builtin
    rng = np.random.default_rng(seed)
    shifts = {a: rng.random(2) for a in archs}
    lo_r, hi_r = math.sqrt(RESOLUTION_MIN), math.sqrt(RESOLUTION_MAX)
    out = []
    for i in range(per_arch):
        for a in archs:
            u = (_halton(i + 1, 2) + shifts[a][0]) % 1.0
            v = (_halton(i + 1, 3) + shifts[a][1]) % 1.0
            alpha = round(ALPHA_MIN * (ALPHA_MAX / ALPHA_MIN) ** u, 3)
            res = int(round((lo_r + v * (hi_r - lo_r)) ** 2))
            groups = _groups(a, i)
            out.append(make_config(a, alpha, resolution=min(max(res, RESOLUTION_MIN), RESOLUTION_MAX),
                                   groups=groups))
    return out


@dataclass
class Calibration:
    """What a campaign did: the points measured, the model fitted, the time it took."""

    setup: Setup
    measured: list[tuple[Config, float]] = field(default_factory=list)
    skipped: int = 0
    elapsed_s: float = 0.0
    fit_s: float = 0.0
    interrupted: bool = False
    model: dict | None = None
    errors: list[str] = field(default_factory=list)
    networks: list = field(default_factory=list)  # (config, ms, [(kernel, ms)]): a kernel campaign's
    chains: list = field(default_factory=list)  # [(kernel, ms)] of each kernel chain timed


def in_place_ops(setup: Setup) -> bool:
    """Whether ``setup``'s kernels can be timed in place, op by op: PyTorch's own runtime only,
    eager or a CUDA graph (see the module doc); other runtimes and int8 are calibrated on whole
    networks."""
    return setup.runtime == "torch" and setup.dtype != "int8"


class _CostGuess:
    """Seconds one point will take: build + budget + the calls the protocol makes at least."""

    def __init__(self, threads: int, op_pass: bool = False, build_s: float = BUILD_S):
        self.gmacs = 8.0 * threads  # updated from every measurement
        self.launch_ms = 0.02
        self.op_pass = op_pass  # a per-op pass follows: at least 4 instrumented passes
        self.build_s = build_s

    def forward_ms(self, cfg: Config) -> float:
        return self.rows_ms(count(cfg).rows)

    def rows_ms(self, rows) -> float:
        """One forward pass of a network's (or a kernel chain's) rows."""
        return sum(r.macs for r in rows) / (self.gmacs * 1e6) + len(rows) * self.launch_ms

    def point_s(self, cfg: Config, point_budget_s: float) -> float:
        calls = MIN_RUNS + WARMUP_MIN + 2  # timed minimum, warm-up minimum, cold, BN calibration
        whole = max(point_budget_s, calls * self.forward_ms(cfg) / 1e3)
        ops = max(point_budget_s, 4 * 1.5 * self.forward_ms(cfg) / 1e3) if self.op_pass else 0.0
        return self.build_s + whole + ops

    def chain_s(self, chain: Chain, point_budget_s: float) -> float:
        """A kernel chain: build, BN calibration (a forward at batch 2) and the per-op pass."""
        fwd = self.rows_ms(chain.rows())
        return self.build_s + 3 * fwd / 1e3 + max(point_budget_s, 4 * 1.5 * fwd / 1e3)

    def update(self, cfg: Config, ms: float) -> None:
        p = count(cfg)
        compute = ms - len(p.rows) * self.launch_ms
        if compute > 0.2 * ms:
            rate = p.macs / (compute * 1e6)
            self.gmacs = 0.7 * self.gmacs + 0.3 * rate


def _room(measured: int, elapsed: float, budget_s: float, max_points: int | None,
          build_s: float = BUILD_S) -> float | None:
    """Seconds the next point may take, or None when the campaign is over: past the budget
    once the fit has its minimum; below it, points of up to ``SMALL_POINT_S`` (plus what a
    setup's build costs beyond ``BUILD_S``: int8's quantization) go on, for at most
    ``OVERTIME_S`` more."""
    enough = measured >= M.MIN_MEASUREMENTS
    if (elapsed >= budget_s and enough) or elapsed >= budget_s + OVERTIME_S or (
            max_points is not None and measured >= max_points):
        return None
    return budget_s - elapsed if enough else max(budget_s - elapsed, SMALL_POINT_S + build_s - BUILD_S)


def _measurer(measure, measure_ops, on_wait, lock_timeout, ops: bool = True):
    """(the protocol's Bench or None, ``measure(cfg, setup) -> (median ms, {op path: ms} or
    None)``): a given whole-network timer (tests: the linear model), a given per-op timer
    (tests: the kernel model), or the protocol under the host lock: its per-op pass, or with
    ``ops=False`` whole networks on the setup's runtime."""
    if measure is not None:
        return None, lambda cfg, s: (float(measure(cfg, s)), None)
    if measure_ops is not None:
        return None, measure_ops
    from ..lab.protocol import Bench  # torch: only when measuring for real

    bench = Bench(on_result=store.add_result)  # stored; the model is fitted once, at the end
    if not ops:
        def run_whole(cfg: Config, s: Setup) -> tuple[float, None]:
            result = bench.run(cfg, s, on_wait=on_wait, lock_timeout=lock_timeout)
            return result.undisturbed_ms, None

        return bench, run_whole

    def run(cfg: Config, s: Setup) -> tuple[float, dict[str, float]]:
        result, ops = bench.op_times(cfg, s, s.budget_s, on_wait=on_wait, lock_timeout=lock_timeout)
        return result.undisturbed_ms, ops

    return bench, run


def _probe(drift: Drift, bench, setup: Setup, at: float, on_wait, lock_timeout) -> None:
    """The host probe timed now, into ``drift`` (a busy host or a failed probe: none this time)."""
    from ..lab.lock import LockTimeout

    try:
        drift.add(at, P.time_on(bench, setup, lock_timeout, on_wait))
    except (LockTimeout, ValueError, RuntimeError):
        pass


def _first_line(exc: BaseException) -> str:
    """What a refused or failed point says, in one line."""
    return str(exc).splitlines()[0] if str(exc) else ""


def _chain_timer(bench, measure_chain, on_wait, lock_timeout):
    """``time(chain, setup) -> [(kernel, ms)]``: the given chain timer (tests) or the protocol's
    per-op pass on the chain; None where nothing times chains."""
    if measure_chain is None and bench is None:
        return None

    def time_chain(chain: Chain, s: Setup) -> list:
        ops = (measure_chain(chain, s) if measure_chain is not None else
               bench.spec_op_times(chain.spec, chain.resolution, s, s.budget_s, chain.label,
                                   on_wait=on_wait, lock_timeout=lock_timeout))
        return with_times(chain.kernels(s.fold_bn), ops)

    return time_chain


def _campaign(networks, chain_iter):
    """The networks, with the next kernel chain after every :data:`CHAIN_EVERY`-th."""
    for i, cfg in enumerate(networks):
        yield cfg
        if chain_iter is not None and i % CHAIN_EVERY == CHAIN_EVERY - 1:
            yield next(chain_iter)


def calibrate(setup: Setup, budget_s: float = DEFAULT_BUDGET_S,
              point_budget_s: float | None = None,
              measure: Callable[[Config, Setup], float] | None = None,
              on_progress: Callable[[int, float, Config, float | None], None] | None = None,
              should_stop: Callable[[], bool] | None = None, seed: int = 0,
              lock_timeout: float | None = None, archs=None,
              max_points: int | None = None, on_wait=None,
              measure_ops: Callable[[Config, Setup], tuple[float, dict[str, float]]] | None = None,
              measure_chain: Callable[[Chain, Setup], dict[str, float]] | None = None
              ) -> Calibration:
    """Measure a design within ``budget_s`` seconds and fit the model. With the protocol (or a
    per-op timer ``measure_ops(cfg, setup) -> (median ms, {op path: ms})``, tests) each network
    is timed whole and op by op, and the kernel model is fitted
    (:mod:`lightviz.latency.predictor.kernel_model`); ``measure(cfg, setup) -> median ms``
    (tests) times whole networks only and fits the linear model on everything stored.
    ``on_progress(points, elapsed_s, cfg, ms)`` is called before (ms None) and after each
    point; ``on_wait(QueueStatus)`` while a point waits for the host lock; ``max_points``
    caps the design (tests). A setup whose ops cannot be timed in place (:func:`in_place_ops`:
    another runtime than eager PyTorch, or int8) times whole networks on its runtime and fits
    the whole-network model."""
    setup = M.resolve(setup)
    point_budget_s = point_budget(budget_s) if point_budget_s is None else point_budget_s
    point_setup = replace(setup, budget_s=point_budget_s)
    cal = Calibration(setup)
    kernels = measure is None and (measure_ops is not None or in_place_ops(setup))
    guess = _CostGuess(setup.threads or 1, op_pass=kernels,
                       build_s=QUANTIZE_S if setup.dtype == "int8" else BUILD_S)
    bench, run = _measurer(measure, measure_ops, on_wait, lock_timeout, ops=kernels)
    networks = cal.networks
    zoo = design(seed=seed, archs=archs)
    time_chain = _chain_timer(bench, measure_chain, on_wait, lock_timeout) if kernels else None
    drift = Drift()  # the host probe through the campaign, and when each network and chain was timed
    stamps: tuple[list[float], list[float]] = ([], [])
    t0 = time.monotonic()
    try:
        for cfg in (_campaign(kernel_design(zoo, seed), time_chain and chains(seed)) if kernels else zoo):
            if should_stop is not None and should_stop():
                cal.interrupted = True
                break
            elapsed = time.monotonic() - t0
            room = _room(len(cal.measured), elapsed, budget_s, max_points, guess.build_s)
            if room is None:
                break
            if kernels and bench is not None and drift.due(elapsed):
                _probe(drift, bench, setup, elapsed, on_wait, lock_timeout)
            if isinstance(cfg, Chain) and time_chain is not None:
                if guess.chain_s(cfg, point_budget_s) <= min(room, MAX_POINT_S):
                    try:
                        cal.chains.append(time_chain(cfg, point_setup))
                        stamps[1].append(time.monotonic() - t0)
                    except (ValueError, RuntimeError) as exc:
                        cal.errors.append(f"{cfg.label}: {_first_line(exc)}")
                continue
            if guess.point_s(cfg, point_budget_s) > min(room, max(MAX_POINT_S, 0.05 * budget_s)):
                cal.skipped += 1
                continue
            if on_progress is not None:
                on_progress(len(cal.measured), elapsed, cfg, None)
            try:
                ms, ops = run(cfg, point_setup)
            except (ValueError, RuntimeError) as exc:  # refused, out of memory: go on
                cal.errors.append(f"{cfg.label}: {_first_line(exc)}")
                continue
            if bench is None:
                store.add(cfg, setup, ms, source="calibrate")
            if ops is not None:
                networks.append((cfg, ms, timed_kernels(cfg, ops, setup.fold_bn)))
                stamps[0].append(time.monotonic() - t0)
            cal.measured.append((cfg, ms))
            guess.update(cfg, ms)
            if on_progress is not None:
                on_progress(len(cal.measured), time.monotonic() - t0, cfg, ms)
    except KeyboardInterrupt:
        cal.interrupted = True
    finally:
        if bench is not None:
            bench.release()
    cal.elapsed_s = time.monotonic() - t0
    t1 = time.monotonic()
    info: dict[str, Any] = {"calibration": {"points": len(cal.measured), "skipped": cal.skipped,
                            "measuring_s": cal.elapsed_s, "budget_s": budget_s,
                            "point_budget_s": point_budget_s, "interrupted": cal.interrupted,
                            "seed": seed, "edited_tables": sum(c.settings is not None for c, _ in cal.measured),
                            "chains": len(cal.chains)}}
    if kernels:
        if bench is not None:  # the host's state at calibration, for later probes to compare
            probe_ms = P.measure(setup, lock_timeout if lock_timeout is not None else 60.0)
            if probe_ms:  # the state the model is for: the undisturbed host's
                drift.add(time.monotonic() - t0, probe_ms)
                info["probe"] = {"ms": drift.state() or probe_ms, "at": time.time()}
        factors = [drift.factor(t) for t in stamps[0]]
        chain_factors = [drift.factor(t) for t in stamps[1]]
        networks[:] = [(c, ms / f, deflate(ops, f)) for (c, ms, ops), f in zip(networks, factors)]
        cal.chains[:] = [deflate(ops, f) for ops, f in zip(cal.chains, chain_factors)]
        info["calibration"]["drift"] = drift.summary(factors, chain_factors, stamps[0], stamps[1])
        cal.model = M.save_kernel_model(setup, networks, calibrated_at=time.time(), extra=info,
                                        chains=cal.chains, host=drift.states(),
                                        block=host_channel_block() if bench is not None else None)
    else:
        cal.model = M.refit(setup, calibrated_at=time.time(), extra=info, whole_network=True)
    cal.fit_s = time.monotonic() - t1
    return cal
