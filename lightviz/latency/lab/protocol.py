"""The measurement protocol: the latency of one configuration on this host, honestly.

1. **Check before anything runs**: device present, dtype supported there, batch, threads and
   budget in range (:func:`make_setup`, one-line ``ValueError``), and the memory estimate
   against what is free (:mod:`lightviz.latency.lab.memory`).
2. **One measurement at a time per host** (:class:`~lightviz.latency.lab.lock.HostLock`).
3. **Pin the CPU threads** (``torch.set_num_threads``) for the measurement and restore them,
   and keep freed memory in the process meanwhile (:mod:`lightviz.latency.lab.allocator`: no
   forward pass faults its activations in anew, as in a deployment's steady state).
4. **Prepare**: build the module from the spec, calibrate its batch norms on a random batch
   (``lightviz.builder.calibrate_batchnorm``) so activations have a trained network's scale
   (no denormals on the CPU, no fp16 overflow), ``eval()``, fold each batch norm into the conv
   before it as a deployment does (``lightviz.builder.fold_batchnorm``; ``fold_bn=False`` times
   the BN layers unfused, which overstates their cost), move it to the device and dtype,
   channels-last if asked, all under ``torch.inference_mode()``. On CUDA, cuDNN autotuning
   (``cudnn.benchmark``) is on, as a deployment with fixed shapes would have it.
5. **The first (cold) call** is timed on its own and reported apart: it pays for allocation,
   oneDNN primitive creation and cuDNN autotuning.
6. **Warm-up after every change** of configuration, shape, device, dtype, threads,
   channels-last, mode or BN folding: at least 2 calls and a fifth of the budget. A :class:`Bench` keeps
   its prepared model while nothing changes and says why it re-warmed (``rewarmed``).
7. **CUDA-graph mode**: after the eager warm-up on a side stream, the forward is captured into
   a CUDA graph and replayed; the replays are warmed up and timed like eager calls.
8. **Timed runs**, one iteration at a time with the device synchronised (see
   :mod:`lightviz.latency.lab.timing`), as many as fit in the rest of the budget (default 2 s), at
   least 5; Python's garbage collector is paused meanwhile (as ``timeit`` does).
8b. **Runtimes** (:mod:`lightviz.latency.runtimes`): the prepared module and input go to the
   runtime's adapter (eager PyTorch, ``torch.compile``, ONNX Runtime on the exported ONNX file,
   TensorRT's ``trtexec``), which returns the call to time; everything else here is the same
   for every runtime, and the passport names the runtime, its version and provider.
9. **The result**: median, p10, p90, IQR, runs, throughput, the cold call, the timed window
   (``started_at``/``finished_at``, epoch seconds), warnings (IQR above 10% of the median,
   few runs, a loaded host, unlocked Jetson clocks) and the passport.

Before anything runs, a measurement whose forced calls would hold the host longer than
``$LIGHTVIZ_MAX_HOLD_S`` (default 60 s) is refused (:mod:`lightviz.latency.lab.hold`). A caller that
withdraws (``should_stop``: the app's closed tab) stops the measurement between two calls,
whole-network or per layer (:class:`Stopped`), and the lock is released at once.
An out-of-memory error frees what the measurement held (``torch.cuda.empty_cache``) and is
raised as :class:`OutOfMemory` with the end of PyTorch's message; the caller keeps going.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

import torch

from ...config import Config
from ...counting import count
from ..host.passport import passport as make_passport
from ..setup import (
    MAX_RUNS,
    MIN_RUNS,
    SPREAD_LIMIT,
    WARMUP_FRACTION,
    WARMUP_MIN,
    MeasurementError,
    OutOfMemory,
    Setup,
    Stopped,
)
from .allocator import state as allocator_state
from .allocator import steady_memory
from .cudagraph import capture as _capture
from .cudagraph import cudnn_benchmark
from .hold import check_hold
from .lock import HostLock, QueueStatus
from .memory import check_fits
from .oom import free_memory, is_oom, oom_reason
from .remarks import notes_for as _notes
from .remarks import warnings_for as _warnings
from .result import Result
from .timing import DTYPES, StopCheck, Timer, build_dtype, stats, timed_runs, warm_up

# ---------------------------------------------------------------------------------------------
# The bench
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """Everything whose change needs a new warm-up."""

    config: Config
    device: str
    dtype: str
    batch: int
    threads: int
    channels_last: bool
    mode: str
    fold_bn: bool = True
    runtime: str = "torch"

    def shape(self) -> str:
        r = self.config.resolution
        return f"{self.batch}x3x{r}x{r}"


def describe_change(old: Signature | None, new: Signature) -> str:
    """Why a new warm-up: what changed from ``old`` to ``new`` ("first run" when none ran)."""
    if old is None:
        return "first run"
    changes = []
    if old.config != new.config:
        changes.append(f"network {old.config.label} -> {new.config.label}")
    if old.shape() != new.shape():
        changes.append(f"input {old.shape()} -> {new.shape()}")
    for name in ("device", "dtype", "threads", "channels_last", "mode", "fold_bn", "runtime"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            changes.append(f"{name.replace('_', '-')} {a} -> {b}")
    return "; ".join(changes)


@dataclass
class _State:
    sig: Signature
    model: torch.nn.Module
    x: torch.Tensor
    fn: Callable[[], object]
    cold_ms: float
    capture_ms: float | None
    graph: object = None
    runtime: object = None  # the adapter (lightviz.latency.runtimes.base.Runtime)


def _eager_ops(setup: Setup, what: str) -> None:
    """Refuse (one line) to time an int8 setup op by op in eager PyTorch, which has no int8
    graph: ONNX Runtime's profiler times the int8 graph's nodes
    (:mod:`lightviz.latency.runtimes.ort_profile`)."""
    if setup.dtype == "int8":
        raise ValueError(f"{what} of an int8 graph cannot be timed in eager PyTorch: ONNX Runtime's "
                         "profiler times its nodes (lightviz bench ARCH --runtime onnxruntime "
                         "--dtype int8 --layers)")


@contextmanager
def pinned_threads(n: int | None) -> Iterator[int]:
    """``torch.set_num_threads(n)`` for the block, restored afterwards; yields the count."""
    old = torch.get_num_threads()
    n = n or old
    if n != old:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


@contextmanager
def _gc_paused():
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def free_device_memory(device: str) -> None:
    free_memory(device)


class Bench:
    """Measures configurations one after another on this host.

    It keeps the prepared model of its last measurement while nothing changes (so "measure
    again" needs no rebuild) and warms up again, with the reason in ``Result.rewarmed``, when
    the configuration, input shape, device, dtype, threads, channels-last, mode or BN
    folding change.
    ``release()`` drops the model (and its device memory).

    ``should_stop()``, asked between calls, returns a reason (or None) when the caller has
    withdrawn (the app: its tab was closed): the measurement then raises :class:`Stopped`.
    ``max_hold_s`` replaces ``$LIGHTVIZ_MAX_HOLD_S`` for this bench (``float("inf")``: no limit).

    ``on_result(result)`` hears every whole-network result (the per-layer pass's too): the lab
    keeps nothing. Each door wires what its results are for: ``lightviz bench`` and the Latency
    page store them and refit the latency model
    (:func:`lightviz.latency.predictor.model.learn`), a calibration only stores its points, a
    benchmark's probe keeps them to itself (``None``)."""

    def __init__(self, lock: HostLock | None = None, root=None,
                 should_stop: Callable[[], object] | None = None,
                 max_hold_s: float | None = None,
                 on_result: Callable[[Result], object] | None = None):
        self.lock = lock if lock is not None else HostLock()
        self.on_result = on_result
        self.root = root
        self.max_hold_s = max_hold_s
        self._stop = StopCheck(should_stop)
        self._state: _State | None = None
        self._last_sig: Signature | None = None

    # -- public ----------------------------------------------------------------------------

    def run(self, cfg: Config, setup: Setup,
            on_wait: Callable[[QueueStatus], None] | None = None,
            lock_timeout: float | None = None) -> Result:
        """Measure ``cfg`` with ``setup`` (see the module doc for the protocol)."""
        return self._locked(cfg, setup, f"{cfg.label} on {setup.label}", on_wait, lock_timeout,
                            lambda s, waited: self._with_runtime_notes(self._run_locked(cfg, s, waited)))

    def _with_runtime_notes(self, result: Result) -> Result:
        """``result`` with its runtime's notes (how the runtime ran the network) after the
        protocol's own."""
        if self._state is not None and self._state.runtime is not None:
            result.notes = list(result.notes) + self._state.runtime.notes(result.setup)
        return result

    def check(self, cfg: Config, setup: Setup, whole: bool = True, layers: bool = False) -> None:
        """Refuse, before anything runs or queues, what would not fit in memory
        (:class:`~lightviz.latency.lab.memory.MemoryRefused`) or would hold the host too long
        (:class:`~lightviz.latency.lab.hold.HoldRefused`); both are ``ValueError``."""
        check_fits(cfg, setup.batch, setup.dtype, setup.device, self.root)
        check_hold(cfg, setup, whole, layers, self.max_hold_s)

    @property
    def forward(self) -> Callable[[], object] | None:
        """The prepared call of the last measurement (eager forward or graph replay), for
        cross-checks against other timers; call it under ``torch.inference_mode()``."""
        return self._state.fn if self._state is not None else None

    @property
    def model(self) -> torch.nn.Module | None:
        """The prepared module of the last measurement (as its setup built it), or None."""
        return self._state.model if self._state is not None else None

    def release(self) -> None:
        """Drop the prepared model and free its device memory."""
        if self._state is not None:
            device = self._state.sig.device
            if self._state.runtime is not None:
                self._state.runtime.release()
            self._state = None
            free_device_memory(device)

    def _eager_parts(self) -> tuple[torch.nn.Module, torch.Tensor]:
        """The prepared module and input, for passes op by op. A CUDA graph captured from them
        is dropped first (the measurement released): the eager passes allocate activations of
        their own, which beside the graph's pool would need twice the memory the measurement
        was checked for. The next run prepares and captures again."""
        model, x = self._state.model, self._state.x
        if self._state.graph is not None:
            self.release()
        return model, x

    def layers(self, cfg: Config, setup: Setup, budget_s: float | None = None,
               on_wait: Callable[[QueueStatus], None] | None = None,
               lock_timeout: float | None = None):
        """Per-block and per-op latency beside MACs (see :mod:`lightviz.latency.lab.layers`):
        the whole network, then each block, then each op, timed in one hold of the lock, in
        eager PyTorch; for a CUDA graph the whole network replayed and each part on the device
        alone, as the graph runs it (the graph itself is one launch). Returns a ``LayerReport``."""
        from . import layers as L

        _eager_ops(setup, "per-layer times")
        budget = budget_s or setup.budget_s

        def body(s: Setup, waited: float):
            graph = s.mode == "cudagraph" and s.runtime == "torch"
            mine = replace(s, mode="cudagraph" if graph else "eager", budget_s=budget / 4, runtime="torch")
            whole = self._run_locked(cfg, mine, waited, "the per-layer pass")
            (model, x), timer, stop = self._eager_parts(), Timer(mine.device), self._stop
            with torch.inference_mode(), _gc_paused():
                blocks = L.time_instrumented(model, x, timer, "blocks", L.block_paths(cfg), budget / 4, stop,
                                             device_time=graph)
                ops = L.time_instrumented(model, x, timer, "ops", None, budget / 4, stop, device_time=graph)
                roof = L.measure_roof(mine.device, DTYPES[mine.dtype], timer, budget / 4, stop)
            notes = list(whole.notes)
            if graph:
                notes.append("per-layer times are each part's kernels on the device alone, run back "
                             "to back as the CUDA graph runs them (a graph replays as one launch and "
                             "cannot be split itself)")
            if setup.runtime != "torch":
                notes.append(f"per-layer times are eager PyTorch: {setup.runtime} runs the network "
                             "as one graph that lightviz cannot split into layers")
            return L.build_report(count(cfg), whole, blocks, ops, roof, notes)

        return self._locked(cfg, setup, f"{cfg.label} per-layer on {setup.label}", on_wait,
                            lock_timeout, body, whole=False, layers=True)

    def op_times(self, cfg: Config, setup: Setup, op_budget_s: float,
                 on_wait: Callable[[QueueStatus], None] | None = None,
                 lock_timeout: float | None = None) -> tuple[Result, dict[str, float]]:
        """The whole network (``setup``'s budget and mode, eager PyTorch or a CUDA graph) and
        then each of its ops in place (``op_budget_s`` of instrumented passes), in one hold of the
        lock: ``(result, {op path: median ms})``. What a kernel calibration learns each kernel's
        cost from: the op timed where the network runs it, its input just written by the op
        before; for a CUDA graph, on the device alone (no launch gaps: a graph has none)."""
        from . import layers as L

        _eager_ops(setup, "a per-op pass")

        def body(s: Setup, waited: float):
            whole = self._run_locked(cfg, replace(s, runtime="torch"), waited, "the whole-network run")
            (model, x), timer, stop = self._eager_parts(), Timer(s.device), self._stop
            with torch.inference_mode(), _gc_paused():
                ops = L.time_instrumented(model, x, timer, "ops", None, op_budget_s, stop,
                                          device_time=s.mode == "cudagraph")
            return whole, ops.undisturbed()

        return self._locked(cfg, setup, f"{cfg.label} per-op on {setup.label}", on_wait,
                            lock_timeout, body, whole=False, layers=True)

    def spec_op_times(self, spec, resolution: int, setup: Setup, op_budget_s: float, label: str,
                      on_wait: Callable[[QueueStatus], None] | None = None,
                      lock_timeout: float | None = None) -> dict[str, float]:
        """Each op of a network ``spec`` that is no configuration (a calibration's kernel chain,
        :mod:`lightviz.latency.predictor.chains`) timed in place as :meth:`op_times` times a
        network's: built from seed 0, BN calibrated and folded, ``op_budget_s`` of instrumented
        passes on a ``resolution`` input, under the host lock; ``{op path: ms}`` (for a CUDA
        graph, on the device alone, as :meth:`op_times`)."""
        from ...builder import build_module, calibrate_batchnorm, fold_batchnorm
        from . import layers as L

        _eager_ops(setup, "a per-op pass")
        self.release()  # nothing of the last network stays in memory
        cudnn = cudnn_benchmark(True) if setup.device.startswith("cuda") else nullcontext()  # as _locked
        with self.lock.hold(label, lock_timeout, on_wait), pinned_threads(setup.threads), steady_memory(), cudnn:
            torch.manual_seed(0)
            fmt = torch.channels_last if setup.channels_last else torch.contiguous_format
            with torch.no_grad():
                model = build_module(spec).to(setup.device)
                calibrate_batchnorm(model, resolution)
                if setup.fold_bn:
                    fold_batchnorm(model)
                model = model.to(dtype=build_dtype(setup.dtype), memory_format=fmt).eval()
            x = torch.randn(setup.batch, 3, resolution, resolution, dtype=build_dtype(setup.dtype),
                            device=setup.device).contiguous(memory_format=fmt)
            with torch.inference_mode(), _gc_paused():
                ops = L.time_instrumented(model, x, Timer(setup.device), "ops", None, op_budget_s, self._stop,
                                          device_time=setup.mode == "cudagraph")
        return ops.undisturbed()

    def energy(self, cfg: Config, setup: Setup, run_s: float = 30.0, idle_s: float = 5.0,
               on_wait: Callable[[QueueStatus], None] | None = None,
               lock_timeout: float | None = None, settle_s: float | None = None) -> dict:
        """Energy per image on a Jetson (see :func:`lightviz.latency.host.energy.measure_energy`): a
        settle wait of ``settle_s`` seconds after the latency run (default
        ``energy.DEFAULT_SETTLE_S``), an idle baseline, then a steady run of ``run_s`` seconds,
        under the lock."""
        from ..host import energy

        settle_s = energy.DEFAULT_SETTLE_S if settle_s is None else settle_s

        energy.require_rails(self.root)

        def body(s: Setup, waited: float) -> dict:
            latency = self._run_locked(cfg, replace(s, budget_s=min(s.budget_s, 2.0)), waited)
            state, timer = self._state, Timer(s.device)

            def step():
                state.fn()
                timer.sync()

            with torch.inference_mode():
                out = energy.measure_energy(step, s.batch, self.root, idle_s, run_s, settle_s=settle_s)
            out["latency"] = latency.to_dict()
            out["passport"] = latency.passport
            return out

        return self._locked(cfg, setup, f"{cfg.label} energy on {setup.label}", on_wait,
                            lock_timeout, body)

    # -- internals -------------------------------------------------------------------------

    def _locked(self, cfg: Config, setup: Setup, label: str, on_wait, lock_timeout, body,
                whole: bool = True, layers: bool = False):
        """Check the memory and the hold time, take the host lock, pin the threads (and on CUDA
        turn cuDNN autotuning on), run ``body(setup with threads resolved, seconds waited)``.
        An out-of-memory error becomes :class:`OutOfMemory` once the memory is freed."""
        self.check(cfg, setup, whole, layers)
        with self.lock.hold(label, lock_timeout, on_wait) as waited:
            failure = None
            try:
                cudnn = cudnn_benchmark(True) if setup.device.startswith("cuda") else nullcontext()
                with pinned_threads(setup.threads) as threads, cudnn, steady_memory():
                    return body(replace(setup, threads=threads), waited)
            except Exception as exc:
                if not is_oom(exc):
                    raise
                failure = oom_reason(exc)
            # Here, out of the except block, the traceback is gone, and with it the frames that
            # held the model and its activations: now their memory can be given back.
            self._state = None
            free_device_memory(setup.device)
            raise OutOfMemory(
                f"{setup.device} ran out of memory measuring {cfg.label} at batch {setup.batch} "
                f"in {setup.dtype} ({failure}); the measurement's memory was freed: lower the "
                "batch or the resolution")

    def _prepare(self, sig: Signature, timer: Timer) -> _State:
        from ...exporter import deployable
        from ..runtimes import adapter

        # Built outside inference mode (an exporter traces it), from seed 0: the weights that
        # `lightviz export` writes by default.
        with torch.inference_mode(False), torch.no_grad():
            model = deployable(sig.config, seed=0, fold_bn=sig.fold_bn)
            fmt = torch.channels_last if sig.channels_last else torch.contiguous_format
            model = model.to(device=sig.device, dtype=build_dtype(sig.dtype), memory_format=fmt)
        r = sig.config.resolution
        x = torch.randn(sig.batch, 3, r, r, dtype=build_dtype(sig.dtype), device=sig.device)
        x = x.contiguous(memory_format=fmt)

        runtime = adapter(sig.runtime, sig.device)
        try:
            call = runtime.prepare(model, x, sig)  # the signature has the setup's fields
            if runtime.needs_sync:  # a runtime whose call returns before its device is done
                run_once, sync = call, runtime.sync

                def call():
                    out = run_once()
                    sync()
                    return out
            cold = None if runtime.own_loop else timer.wall(call)
        except BaseException:
            runtime.release()
            raise
        state = _State(sig, model, x, call, cold, None, runtime=runtime)
        if sig.mode == "cudagraph":
            state.capture_ms, state.graph, state.fn = _capture(model, x, timer)
        return state

    def _run_locked(self, cfg: Config, setup: Setup, waited: float,
                    phase: str = "the whole-network run") -> Result:
        sig = Signature(cfg, setup.device, setup.dtype, setup.batch, setup.threads,
                        setup.channels_last, setup.mode, setup.fold_bn, setup.runtime)
        timer, stop = Timer(setup.device), self._stop
        stop.phase = phase
        rewarmed = None
        stop()
        with torch.inference_mode():
            if self._state is None or self._state.sig != sig:
                rewarmed = (describe_change(self._last_sig, sig)
                            or "the same setup, rebuilt: the model had been released")
                self.release()
                self._state = self._prepare(sig, timer)
                self._last_sig = sig
                cold, capture = self._state.cold_ms, self._state.capture_ms
            else:
                cold = capture = None
            fn, runtime = self._state.fn, self._state.runtime
            if runtime.wall_clock:  # the call returns when its work is done: time the wall clock
                timer = Timer("cpu")
            timer.method = runtime.timer_method or timer.method
            with _gc_paused():
                if runtime.own_loop:
                    warm, timed = runtime.timed(setup.budget_s, MIN_RUNS, stop)
                else:
                    t0 = time.perf_counter()
                    warm = warm_up(timer, fn, WARMUP_MIN, WARMUP_FRACTION * setup.budget_s, stop=stop)
                    remaining = max(setup.budget_s - (time.perf_counter() - t0), 0.0)
                    timed = timed_runs(timer, fn, remaining, MIN_RUNS, MAX_RUNS, stop)
        st = stats(timed.samples_ms)
        prof = count(cfg)
        pp = make_passport(setup.device, setup.threads, self.root)
        pp["runtime"] = runtime.version()
        pp["allocator"] = allocator_state()
        result = Result(
            config=cfg, setup=setup, samples_ms=timed.samples_ms,
            median_ms=st.median, p10_ms=st.p10, p90_ms=st.p90, q1_ms=st.q1, q3_ms=st.q3,
            iqr_ms=st.iqr, mean_ms=st.mean, min_ms=st.min, max_ms=st.max, runs=st.runs,
            throughput_ips=setup.batch / (st.median * 1e-3) if st.median > 0 else float("inf"),
            cold_ms=cold, capture_ms=capture, warmup_runs=warm, rewarmed=rewarmed,
            started_at=timed.started_at, finished_at=timed.finished_at, timed_s=timed.elapsed_s,
            lock_wait_s=waited, macs=prof.macs, params=prof.params, timer=timer.method,
            passport=pp,
        )
        result.warnings, result.notes = _warnings(result), _notes(setup)
        if self.on_result is not None:
            self.on_result(result)
        return result


# ---------------------------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------------------------


def sweep(configs: Iterable[Config], setup: Setup, bench: Bench | None = None,
          on_point: Callable[[int, Config], None] | None = None,
          on_wait: Callable[[QueueStatus], None] | None = None) -> list[dict]:
    """Measure each configuration in turn (each one re-warms); one row per point with MACs
    beside the latency. A point that is refused or runs out of memory gets its ``error`` and
    the sweep goes on; a stopped one (:class:`Stopped`) ends the sweep."""
    bench = bench or Bench()
    rows = []
    try:
        for i, cfg in enumerate(configs):
            if on_point is not None:
                on_point(i, cfg)
            row = {"label": cfg.label, "arch": cfg.arch, "alpha": cfg.alpha, "rho": cfg.rho,
                   "resolution": cfg.resolution, "groups": cfg.groups}
            try:
                prof = count(cfg)
                row.update(macs=prof.macs, params=prof.params)
                r = bench.run(cfg, setup, on_wait=on_wait)
            except Stopped:
                raise
            except (ValueError, MeasurementError) as exc:
                row["error"] = str(exc)
            else:
                row.update(median_ms=r.median_ms, p10_ms=r.p10_ms, p90_ms=r.p90_ms,
                           iqr_ms=r.iqr_ms, runs=r.runs, throughput_ips=r.throughput_ips,
                           spread_ok=r.spread <= SPREAD_LIMIT, started_at=r.started_at,
                           finished_at=r.finished_at)
            rows.append(row)
    finally:
        bench.release()
    return rows


def measure(cfg: Config, setup: Setup | None = None, lock: HostLock | None = None,
            on_wait: Callable[[QueueStatus], None] | None = None, root=None,
            on_result: Callable[[Result], object] | None = None) -> Result:
    """Measure one configuration with a fresh :class:`Bench` (cold call included);
    ``on_result`` as for :class:`Bench`."""
    bench = Bench(lock, root, on_result=on_result)
    try:
        return bench.run(cfg, setup or Setup(), on_wait=on_wait)
    finally:
        bench.release()
