"""Microcontroller boards and whether a network fits one: SRAM for the activations (the
deployment peak of :mod:`lightviz.deployment` plus the runtime's buffers) and flash for the
weights (plus the runtime's code and tables).

Sizes are the datasheets' (sources in assets/SOURCES.md), in binary units as the datasheets and
MCUNet write them: 1 KB = 1024 bytes, 1 MB = 1024 KB (the STM32F746's "320 Kbytes" of RAM are
327,680 bytes). :func:`fits_on` compares against ``arena_bytes``, the largest block of on-chip
SRAM one tensor arena can use (the whole SRAM where it is one address range; the STM32H743's
1 MB is five blocks, the largest its 512 KB AXI SRAM, the budget MCUNet uses for that chip).

**Runtime overhead**, from the one published measurement that has a computed counterpart:
TinyEngine ran MCUNet's MobileNet v2 0.35 @ 144 int8 on an STM32F746 in 308 kB of SRAM and
862 kB of flash (mit-han-lab/mcunet README, model zoo "mbv2-w0.35"). MCUNet's rule with in-place
depthwise gives 290,304 B of activations for that network, so TinyEngine's buffers (im2col and
scratch buffers, stack, runtime state) took 308 x 1024 - 290,304 = 25,088 B
(:data:`RUNTIME_SRAM_BYTES`); its weights as :func:`lightviz.deployment.flash_bytes` counts them
are 765,696 B (int8 weights, int32 biases), so code, per-channel scales and the graph took
862 x 1024 - 765,696 = 116,992 B (:data:`RUNTIME_FLASH_BYTES`). Both are one runtime's figures
for one network, added as constants; TinyEngine's own README measures the same network with a
newer TinyEngine on an STM32H743 in 295 kB and 839 kB (11,776 B and 93,440 B over the computed
figures), so the constants are the larger, older measurement's. Another runtime needs more: in
that README TF-Lite Micro and CMSIS-NN run out of the H743's 512 KB on this network.

MCUNet's "mbv2-w0.35" narrows the last conv with the width (1280 x 0.35 -> 448, MCUNet's
``disable_keep_last_channel``: 0.75 M params, 23.5 M MACs as published), where lightviz's
MobileNet v2 keeps torchvision's 1280 (1.68 M params): the same blocks, so the same SRAM peak,
but twice the flash. :func:`mcunet_mobilenet_v2` builds MCUNet's variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .config import Config, parse_precision
from .counting import Profile, count, trace
from .deployment import deployment_memory

KB = 1024
MB = 1024 * KB
RUNTIME_SRAM_BYTES = 308 * KB - 290_304  # 25,088 B: TinyEngine's buffers (module doc)
RUNTIME_FLASH_BYTES = 862 * KB - 765_696  # 116,992 B: code, scales, graph (module doc)


@dataclass(frozen=True)
class Board:
    """A microcontroller (or the board that carries it, where flash is off-chip)."""

    name: str  # the key: "stm32f746"
    label: str  # the short name: "STM32F746"
    title: str  # what the pages show: "STM32F746 (Cortex-M7, 216 MHz)"
    sram_bytes: int  # on-chip SRAM, the datasheet's total
    arena_bytes: int  # the largest block of it one tensor arena can use
    flash_bytes: int
    flash_note: str  # on-chip, or which external flash is assumed
    note: str
    source: str  # the datasheet


BOARDS = (
    Board("stm32f746", "STM32F746", "STM32F746 (Cortex-M7, 216 MHz)", 320 * KB, 320 * KB,
          1 * MB,
          "on-chip", "MCUNet's and TinyEngine's board (STM32F746G-DISCO); 320 KB = 240 KB "
          "SRAM1 + 16 KB SRAM2 + 64 KB DTCM, one address range",
          "ST DS10916, STM32F745xx/STM32F746xx datasheet"),
    Board("stm32h743", "STM32H743", "STM32H743 (Cortex-M7, 480 MHz)", 1 * MB, 512 * KB,
          2 * MB,
          "on-chip", "1 MB of RAM in five blocks (TCM, AXI SRAM, SRAM1-4); the largest, the "
          "512 KB AXI SRAM, is the arena (MCUNet's 512 KB / 2 MB budget for this chip)",
          "ST DS12110, STM32H742xI/G STM32H743xI/G datasheet"),
    Board("nrf52840", "nRF52840", "nRF52840 (Cortex-M4F, 64 MHz)", 256 * KB, 256 * KB, 1 * MB,
          "on-chip", "a BLE SoftDevice, when used, reserves part of the RAM and flash",
          "Nordic Semiconductor nRF52840 Product Specification v1.x"),
    Board("rp2040", "RP2040", "RP2040 on a Raspberry Pi Pico (Cortex-M0+, 133 MHz)", 264 * KB,
          264 * KB, 2 * MB, "external QSPI flash: 2 MB on the Raspberry Pi Pico (the chip has none; "
          "up to 16 MB)", "264 KB in six banks, one address range; no FPU and no DSP "
          "instructions", "Raspberry Pi RP2040 datasheet; Raspberry Pi Pico datasheet"),
    Board("esp32s3", "ESP32-S3", "ESP32-S3 (Xtensa LX7, 240 MHz)", 512 * KB, 512 * KB, 8 * MB,
          "external flash: 8 MB on an ESP32-S3-WROOM-1-N8 module (the chip has none)",
          "512 KB on-chip SRAM, shared with the Wi-Fi/BLE stacks and cache; optional PSRAM "
          "(2-8 MB, in-package or on the module) is not counted",
          "Espressif ESP32-S3 Series datasheet; ESP32-S3-WROOM-1 datasheet"),
)
BOARD_NAMES = tuple(b.name for b in BOARDS)


def board(name: str | Board) -> Board:
    """A board by name (case and ``-``/``_`` ignored); ValueError naming the boards otherwise."""
    if isinstance(name, Board):
        return name
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    for b in BOARDS:
        if b.name == key:
            return b
    raise ValueError(f"unknown board {name!r}: choose one of {', '.join(BOARD_NAMES)}")


@dataclass(frozen=True)
class Fit:
    """Whether a network fits a board, with what it uses and what is left (bytes)."""

    board: Board
    precision: str
    sram_used: int  # deployment peak (in-place depthwise) + RUNTIME_SRAM_BYTES
    flash_used: int  # weights as stored + RUNTIME_FLASH_BYTES
    peak_op: str

    @property
    def sram_free(self) -> int:
        return self.board.arena_bytes - self.sram_used

    @property
    def flash_free(self) -> int:
        return self.board.flash_bytes - self.flash_used

    @property
    def fits_sram(self) -> bool:
        return self.sram_free >= 0

    @property
    def fits_flash(self) -> bool:
        return self.flash_free >= 0

    @property
    def fits(self) -> bool:
        return self.fits_sram and self.fits_flash

    def to_dict(self) -> dict:
        return {"board": self.board.name, "precision": self.precision, "fits": self.fits,
                "sram_used": self.sram_used, "sram_free": self.sram_free,
                "flash_used": self.flash_used, "flash_free": self.flash_free,
                "peak_op": self.peak_op}


def needs(source: Config | Profile, precision: str = "int8", in_place: bool = True
          ) -> tuple[int, int, str]:
    """(SRAM bytes, flash bytes, the op that sets the SRAM peak) a network needs on a
    microcontroller: the deployment peak plus :data:`RUNTIME_SRAM_BYTES`, the stored weights
    plus :data:`RUNTIME_FLASH_BYTES`."""
    prof = source if isinstance(source, Profile) else count(source)
    mem = deployment_memory(prof, precision, in_place=in_place)
    return (mem.peak_bytes + RUNTIME_SRAM_BYTES, mem.flash_bytes + RUNTIME_FLASH_BYTES,
            mem.peak_op)


def fits_on(source: Config | Profile, on: str | Board, precision: str = "int8",
            in_place: bool = True) -> Fit:
    """Whether ``source`` fits board ``on`` at ``precision`` (in-place depthwise, as
    TinyEngine runs, unless ``in_place`` is False)."""
    b = board(on)
    p = parse_precision(precision)
    sram, flash, op = needs(source, p, in_place)
    return Fit(b, p, sram, flash, op)


def fits_everywhere(source: Config | Profile, precision: str = "int8") -> list[Fit]:
    """:func:`fits_on` for every board, counted once."""
    prof = source if isinstance(source, Profile) else count(source)
    p = parse_precision(precision)
    sram, flash, op = needs(prof, p)
    return [Fit(b, p, sram, flash, op) for b in BOARDS]


def mcunet_mobilenet_v2(alpha: float, resolution: int, classes: int = 1000) -> Profile:
    """MobileNet v2 as MCUNet builds its scaled baseline: lightviz's network with the last conv
    narrowed with the width, ``make_divisible(1280 * alpha, 8)`` (mcunet/tinynas/nn/networks/
    mobilenet_v2.py, ``disable_keep_last_channel``): MCUNet's "mbv2-w0.35" at 144 px has
    750,280 params and 23.5 M MACs, as its model zoo lists."""
    from .spec import ConvBNAct, Sequence
    from .zoo.common import Network, make_divisible, pooled_classifier
    from .zoo.mobilenet_v2 import LAST_WIDTH, spec

    cfg = Config("mobilenet_v2", alpha, resolution, None, classes)
    net = spec(cfg)
    items = dict(net.items)
    head = items["head"]
    assert isinstance(head, Sequence)
    conv = dict(head.items)["conv"]
    assert isinstance(conv, ConvBNAct)
    in_ch = conv.in_ch
    last = make_divisible(LAST_WIDTH * alpha, 8)
    items["head"] = Sequence((("conv", ConvBNAct(in_ch, last, 1, act="relu6")),)
                             + pooled_classifier(last, classes, "classifier"))
    narrowed = Network(tuple(items.items()), cfg)
    return Profile(cfg, tuple(trace(narrowed, cfg)))


@dataclass(frozen=True)
class Reference:
    """A published deployment: a network on a board, its measured (or published) SRAM and
    flash, and whether it fits there as published."""

    name: str
    board: str
    alpha: float
    resolution: int
    mcunet_head: bool  # MCUNet's narrowed last conv (mcunet_mobilenet_v2), else lightviz's
    sram_bytes: int | None
    flash_bytes: int | None
    fits: bool
    source: str

    def profile(self) -> Profile:
        if self.mcunet_head:
            return mcunet_mobilenet_v2(self.alpha, self.resolution)
        return count(Config("mobilenet_v2", self.alpha, self.resolution))


REFERENCES = (
    Reference("MCUNet mbv2-w0.35 (MobileNet v2 0.35 @ 144, int8, TinyEngine)", "stm32f746",
              0.35, 144, True, 308 * KB, 862 * KB, True,
              "mit-han-lab/mcunet README, model zoo (SRAM and flash measured with TinyEngine "
              "on an STM32F746; described there as fitting 320 KB SRAM and 1 MB flash)"),
    Reference("MCUNet mbv2-w0.35 on an STM32H743 (TinyEngine @ 0363956)", "stm32h743",
              0.35, 144, True, 295 * KB, 839 * KB, True,
              "mit-han-lab/tinyengine README, Measured Results (STM32H743, 512 KB peak memory "
              "and 2 MB storage limits)"),
    Reference("MobileNet v2 1.0 @ 224 (int8)", "stm32f746", 1.0, 224, False, 1372 * KB, None,
              False, "MCUNetV2 (Lin et al., NeurIPS 2021) Fig. 1: peak SRAM 1372 kB, beyond "
                     "a microcontroller's 256-320 kB"),
)


# ----------------------------------------------------------------------------- budgets

BYTE_SUFFIXES = {"": 1, "b": 1, "k": KB, "kb": KB, "kib": KB, "m": MB, "mb": MB, "mib": MB}


def parse_bytes(name: str, text) -> int:
    """A positive byte count such as ``320K``, ``1M``, ``1.5MB`` or ``262144``, in the
    datasheets' binary units (K = 1024, M = 1024 K, as :data:`BOARDS`); ValueError naming
    ``name`` otherwise."""
    import re

    from .config import number

    m = re.fullmatch(r"\s*([0-9.eE+-]+?)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in BYTE_SUFFIXES:
        raise ValueError(f"{name} must be a byte count such as 320K, 1M or 262144 (K = 1024 "
                         f"bytes), got {text!r}")
    value = number(name, m.group(1)) * BYTE_SUFFIXES[unit]
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {text!r}")
    return int(value)


def memory_budget(max_sram=None, max_flash=None, on=None) -> tuple[int | None, int | None]:
    """The (SRAM, flash) limits in bytes of ``--max-sram``, ``--max-flash`` and ``--board``
    (a board gives its arena and flash; an explicit limit wins over the board's)."""
    sram = None if max_sram is None else parse_bytes("max-sram", max_sram)
    flash = None if max_flash is None else parse_bytes("max-flash", max_flash)
    if on is not None:
        b = board(on)
        sram = b.arena_bytes if sram is None else sram
        flash = b.flash_bytes if flash is None else flash
    return sram, flash


@lru_cache(maxsize=4096)
def _flash_needed(arch: str, alpha: float, groups: int | None, precision: str) -> int:
    # flash does not depend on the resolution: count the network once per width
    prof = count(Config(arch, alpha, 224, groups))
    return deployment_memory(prof, precision).flash_bytes + RUNTIME_FLASH_BYTES


def memory_columns(cfg: Config, precision: str = "int8") -> dict:
    """What ``cfg`` needs on a microcontroller: ``sram`` (in-place deployment peak + runtime
    buffers) and ``flash`` (stored weights + runtime code), in bytes."""
    sram, _, _ = needs(cfg, precision)
    return {"sram": sram, "flash": _flash_needed(cfg.arch, cfg.alpha, cfg.groups, precision)}


def within_memory(max_sram: int | None, max_flash: int | None, precision: str = "int8"):
    """The rule that keeps a configuration within a memory budget: a function of a Config
    returning its ``sram`` and ``flash`` columns, or None where it needs more than
    ``max_sram`` of SRAM or ``max_flash`` of flash (either may be None: no limit). Flash is
    checked first (it is cheap and does not depend on the resolution)."""
    def check(cfg: Config) -> dict | None:
        flash = _flash_needed(cfg.arch, cfg.alpha, cfg.groups, precision)
        if max_flash is not None and flash > max_flash:
            return None
        if max_sram is None:
            return {"flash": flash}
        sram, _, _ = needs(cfg, precision)
        return {"sram": sram, "flash": flash} if sram <= max_sram else None
    return check
