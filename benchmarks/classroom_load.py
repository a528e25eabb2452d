"""A class on one small host: many browser sessions against one real server, and its memory.

Starts `streamlit run app.py` on a free port of 127.0.0.1 (loopback only, the repository's
.streamlit/config.toml, its own lock directory) and drives Debian's Chromium through Playwright
(one browser, one context per student), in three phases:

1. Idle: the server's resident memory with no session, with one idle session on Explore, and
   after that session opened the Latency page (torch imported). Goal: under 500 MB in all.
   Then that session alone does what every student will do: the peer of phase 2's figures.
2. Class: --sessions students (default 20) arriving over --arrival seconds and staying until all
   are through. Each opens one of a few shared links (different architectures and alphas), moves
   the alpha slider with the keyboard --presses times, then opens the Latency page, measures a
   short-budget configuration (0.2 s, no per-layer pass) and downloads the result's JSON. Before
   they arrive the teacher measures the shared links' configurations (`lightviz lesson`, the
   page's default setup with the per-layer pass; --no-lesson skips it), and the first --as-given
   students (default half) measure the link's configuration as given, without moving alpha:
   their click to result (goal: median at most 10 s) and what they cost (goal: at most one
   measurement per link, the teacher's included) are reported apart from the students who
   measure their own configuration. Reported: sessions served; a page update, from the key press
   to the new number drawn (p50/p95); the server's answer under that load, timed by a probe that
   opens a page every second through Streamlit's websocket without a browser
   (benchmarks/st_session.py); errors (page exceptions, Streamlit error boxes, JavaScript
   errors, failed loads and timeouts; goal 0); whether any two measurements' timed windows
   (started_at..finished_at of the exported JSON) overlapped (goal: never); CPU used by the
   server and by the browsers.
3. Sweep: --sweep distinct configurations (default 500: every architecture and ShuffleNet v1
   group, alpha and rho across their sliders), each opened as a new session on Explore,
   Diagrams or Compare in turn, --workers at a time (students pasting links; each closed
   session stays in the server for Streamlit's disconnectedSessionTTL). Reported: resident-
   memory growth over the sweep (goal < 200 MB), its second half, and errors.

The server's RSS is sampled every 0.25 s (/proc/PID/status) and its VmHWM read at the end; the
timeline goes to artifacts/classroom_rss.csv. Bounded: --time-limit (default 570 s) for the
whole run (the class phase leaves the sweep its share), a timeout on every wait, at most 100
sessions and 5000 configurations.

On this 2-core machine the 20 Chromium instances share the cores with the server: they are
started at nice 19 (--client-nice) with CSS animations off (a waiting page's spinners cost
about 0.15 core each), standing in for the students' own laptops. Even so the browsers use
most of the CPU, so "key to number drawn" is dominated by them; the probe's figure is the
server's.

    python3 benchmarks/classroom_load.py [--sessions 20] [--presses 3] [--sweep 500]
                                         [--workers 4] [--arrival 20] [--time-limit 570]
                                         [--as-given N] [--no-lesson] [--lesson-budget 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import conftest as fx  # noqa: E402  (the test fixtures' server and browser helpers)
from app_speed import pct  # noqa: E402  (benchmarks/app_speed.py: one percentile rule)
from st_session import open_session  # noqa: E402  (benchmarks/st_session.py)

from lightviz import count, make_config  # noqa: E402
from lightviz.state import ALPHA_STOPS, RHO_STOPS  # noqa: E402

MB = 2**20
IDLE_GOAL_MB = 500
SWEEP_GOAL_MB = 200
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# the links a teacher hands out: (arch, alpha, rho, groups)
SHARED = [
    ("mobilenet_v2", 1.0, 1.0, None),
    ("resnet18", 0.5, 0.5714, None),
    ("shufflenet_v1", 0.5, 1.0, 3),
    ("ghostnet", 1.3, 1.0, None),
    ("mobilenet_v1", 0.75, 0.7143, None),
]
def fmt_count(n: float) -> str:
    from lightviz.views import fmt_count as f

    return f(n)


def url_of(arch, alpha, rho, groups=None, path="") -> str:
    q = f"arch={arch}&alpha={alpha:g}&rho={rho:g}" + (f"&groups={groups}" if groups else "")
    return f"/{path}?{q}"


# ----------------------------------------------------------------------------- server memory

def proc_status(pid: int, field: str) -> int:
    """A memory field of /proc/PID/status in bytes (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(root: int) -> list:
    """Live processes under ``root`` (children, their children ...)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    parent[int(name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def client_cpu(server_pid: int) -> float:
    """CPU seconds of this benchmark's other descendants (Playwright's driver, Chromium)."""
    return sum(proc_cpu(p) for p in descendants(os.getpid()) if p != server_pid)


class MemWatch(threading.Thread):
    """Samples the server's VmRSS every ``every`` seconds; ``mark(label)`` tags the timeline."""

    def __init__(self, pid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples = []  # (seconds since start, rss bytes, phase)
        self.phase = "start"
        self.t0 = time.monotonic()
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.samples.append((time.monotonic() - self.t0, proc_status(self.pid, "VmRSS"),
                                 self.phase))
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join(5)

    def rss(self) -> int:
        return proc_status(self.pid, "VmRSS")

    def peak(self, phase=None) -> int:
        return max((r for _, r, p in self.samples if phase is None or p == phase), default=0)

    def settle(self, seconds: float = 2.0) -> int:
        """RSS after ``seconds`` with nothing asked of the server."""
        time.sleep(seconds)
        return self.rss()


# ----------------------------------------------------------------------------- page helpers

def sidebar_slider(page, label: str):
    return page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(
        has_text=label).get_by_role("slider")


def metric_value(page, label: str):
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue").first


# The Explore page shows ``alpha_text`` in its heading and ``macs`` as its MACs metric.
SHOWS = """([alphaText, macs]) => {
  const h = document.querySelector('h2');
  if (!h || !h.textContent.includes(alphaText)) return false;
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (l && v && l.textContent.trim() === 'MACs') return v.textContent.trim() === macs;
  }
  return false;
}"""


async def scan_errors(page, rec: dict, where: str) -> None:
    """Streamlit exceptions and error boxes now on the page (each distinct text once)."""
    for testid in ("stException", "stAlertContentError"):
        for text in await page.get_by_test_id(testid).all_inner_texts():
            key = f"{where}: {testid}: {text.strip().splitlines()[0][:160] if text.strip() else ''}"
            if key not in rec["errors"]:
                rec["errors"].append(key)


async def wait_ready(page, timeout_s: float = 120) -> None:
    await page.wait_for_selector(READY, timeout=timeout_s * 1000)


async def wait_url(page, alpha: float, rho: float, timeout_s: float = 120) -> None:
    await page.wait_for_function(
        "([a, r]) => { const q = new URLSearchParams(location.search);"
        " return q.get('alpha') === a && q.get('rho') === r; }",
        arg=[f"{alpha:g}", f"{rho:g}"], timeout=timeout_s * 1000)


# ----------------------------------------------------------------------------- a student's steps

def new_record(i) -> dict:
    return {"i": i, "loaded": False, "load_s": None, "updates_s": [], "errors": [],
            "measurement": None, "measure_s": None, "as_given": False, "link": None}


def watch_page(page, rec: dict) -> None:
    """Count the page's JavaScript errors."""
    page.on("pageerror", lambda e: rec["errors"].append(f"javascript: {str(e)[:160]}"))


# Harness only: the browsers stand in for the students' laptops, which pay for their own
# animations. Streamlit's running indicators animate while a script runs (a queued measurement
# runs for as long as it waits), about 0.15 core per waiting page in Chromium here.
NO_ANIMATIONS = """document.addEventListener('DOMContentLoaded', () => {
  const s = document.createElement('style');
  s.textContent = '*, *::before, *::after { animation: none !important; transition: none !important; }';
  document.head.appendChild(s);
});"""


async def new_student_context(browser):
    ctx = await browser.new_context(viewport={"width": 1024, "height": 720}, accept_downloads=True)
    await ctx.add_init_script(NO_ANIMATIONS)
    return ctx


async def open_shared_link(page, base: str, link, rec: dict) -> None:
    """Open a shared link; ``load_s`` = from goto to the page's MACs number shown."""
    arch, alpha, rho, groups = link
    want = fmt_count(count(make_config(arch, alpha, rho, groups=groups)).macs)
    t0 = time.perf_counter()
    await page.goto(base + url_of(arch, alpha, rho, groups), timeout=120_000)
    await page.wait_for_function(SHOWS, arg=[f"\u03b1 {alpha:g} \u00b7", want], timeout=120_000)
    rec["load_s"] = time.perf_counter() - t0
    rec["loaded"] = True
    await wait_ready(page)
    await scan_errors(page, rec, "load")


async def move_alpha(page, link, presses: int, rec: dict, rng, deadline: float,
                     think=(0.2, 1.0)) -> float:
    """``presses`` keyboard steps on the alpha slider; each one timed from the key press to
    the page's heading and MACs number showing the new configuration. Returns the last alpha."""
    arch, alpha, rho, groups = link
    slider = sidebar_slider(page, "Width multiplier")
    for k in range(presses):
        if time.monotonic() > deadline:
            rec["errors"].append("time limit reached before every press")
            break
        step = 1 if (k % 2 == 0) == (alpha < 1.9) else -1
        new_alpha = round(alpha + step * 0.05, 2)
        want_macs = fmt_count(count(make_config(arch, new_alpha, rho, groups=groups)).macs)
        await slider.focus()
        t = time.perf_counter()
        await page.keyboard.press("ArrowRight" if step > 0 else "ArrowLeft")
        # checked on every animation frame (expect() backs off to 1 s between checks)
        await page.wait_for_function(SHOWS, arg=[f"\u03b1 {new_alpha:g} \u00b7", want_macs],
                                     timeout=120_000)
        rec["updates_s"].append(time.perf_counter() - t)
        alpha = new_alpha
        await wait_ready(page)
        await asyncio.sleep(rng.uniform(*think))  # a student reads the number
    await scan_errors(page, rec, "explore")
    return alpha


async def open_latency(page) -> None:
    from playwright.async_api import expect

    await page.get_by_test_id("stSidebarNav").get_by_role("link", name="Latency").click()
    await expect(page.get_by_role("button", name="Measure")).to_be_visible(timeout=120_000)
    await wait_ready(page)


async def measure_short(page, rec: dict, timeout_s: float) -> None:
    """On the Latency page: the shortest budget (0.2 s), no per-layer pass, Measure; then the
    result's JSON downloaded. ``measure_s`` = from the click to the median shown."""
    from playwright.async_api import expect

    budget = page.get_by_test_id("stSlider").filter(has_text="Time budget").get_by_role("slider")
    await budget.focus()
    await page.keyboard.press("Home")
    await expect(budget).to_have_attribute("aria-valuetext", "0.20", timeout=60_000)
    await wait_ready(page)
    per_layer = page.get_by_test_id("stCheckbox").filter(has_text="Per layer")
    if await per_layer.get_by_role("checkbox").is_checked():
        await per_layer.locator("label").click()
        await wait_ready(page)
    t = time.perf_counter()
    await page.get_by_role("button", name="Measure").click()
    await page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                 .some(l => l.textContent.trim().startsWith('Median'))""", timeout=timeout_s * 1000)
    rec["measure_s"] = time.perf_counter() - t
    await wait_ready(page, timeout_s)
    async with page.expect_download(timeout=60_000) as info:
        await page.get_by_role("button", name="Result (JSON, with passport)").click()
    download = await info.value
    data = json.loads(Path(await download.path()).read_text())
    rec["measurement"] = {k: data.get(k) for k in ("started_at", "finished_at", "median_ms",
                                                   "runs", "lock_wait_s", "label", "spread",
                                                   "spread_ok", "shared")}
    await scan_errors(page, rec, "latency")


class Probe:
    """The server's answer time, seen by a client that is not starved like the browsers: every
    ``every`` seconds a new session (Streamlit's websocket, no browser, at this process's
    original priority in its own thread) opens Explore at the next alpha stop of one of the
    shared links and is timed until its script run finished. Its figure is the server's part of
    a page update: a full run of the page for a configuration, plus connecting."""

    def __init__(self, base: str, every: float = 1.0):
        self.ws = base.replace("http://", "ws://")
        self.every = every
        self.times, self.errors = [], []
        self._halt = threading.Event()
        self._thread = None
        self._k = 0

    def start(self):
        self._halt.clear()
        self.times, self.errors = [], []
        self._thread = threading.Thread(target=lambda: asyncio.run(self._loop()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list:
        self._halt.set()
        self._thread.join(180)
        return self.times

    async def _loop(self):
        while not self._halt.is_set():
            arch, _, rho, groups = SHARED[self._k % len(SHARED)]
            alpha = ALPHA_STOPS[(self._k * 7) % len(ALPHA_STOPS)]
            self._k += 1
            try:
                r = await open_session(self.ws, "", url_of(arch, alpha, rho, groups)[2:])
                self.times.append(r["seconds"])
                self.errors += r["errors"]
            except Exception as exc:
                self.errors.append(f"probe: {type(exc).__name__}: {exc}")
            await asyncio.sleep(self.every)


# ----------------------------------------------------------------------------- phase 1: idle

async def idle_phase(browser, base: str, args, watch: MemWatch, deadline: float) -> dict:
    """Memory with no session and one idle session; then that session alone does what each
    student will do (the peer of the class figures)."""
    out = {"no_session": watch.settle(1.0)}
    watch.phase = "idle"
    ctx = await new_student_context(browser)
    page = await ctx.new_page()
    rec = new_record(-1)
    watch_page(page, rec)
    await open_shared_link(page, base, SHARED[0], rec)
    out["explore"] = watch.settle(3.0)
    await open_latency(page)
    out["latency"] = watch.settle(3.0)
    watch.phase = "alone"
    probe = Probe(base).start()
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name="Explore").click()
    await wait_ready(page)
    alone = SHARED[1]
    await open_shared_link(page, base, alone, rec)
    await move_alpha(page, alone, max(args.presses, 6), rec, random.Random(0), deadline, (0.1, 0.2))
    await open_latency(page)
    await measure_short(page, rec, args.measure_timeout)
    await asyncio.sleep(2)  # a few more probes
    out["alone"] = rec
    out["probe_alone"] = await asyncio.to_thread(probe.stop)
    out["probe_errors"] = probe.errors
    await ctx.close()
    return out


# ----------------------------------------------------------------------------- the teacher

def teacher_lesson(env: dict, args, tmp_dir: str, deadline: float) -> dict:
    """Before class the teacher measures the shared links' configurations as the Latency page
    does by default (`lightviz lesson`, the per-layer pass included), so the students' clicks
    on them are served from the store."""
    path = Path(tmp_dir) / "lesson.txt"
    path.write_text("# the shared links\n" + "".join(url_of(*link) + "\n" for link in SHARED))
    cmd = [sys.executable, "-m", "lightviz", "lesson", str(path), "--budget",
           f"{args.lesson_budget:g}", "--format", "json"]
    t0 = time.perf_counter()
    out = {"rows": [], "errors": []}
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=max(30.0, min(300.0, deadline - time.monotonic() - 120)))
        if r.returncode == 0:
            out["rows"] = json.loads(r.stdout)["rows"]
        else:
            out["errors"].append(f"lightviz lesson: exit {r.returncode}: "
                                 f"{(r.stderr.strip().splitlines() or [''])[-1][:200]}")
    except subprocess.TimeoutExpired:
        out["errors"].append("time limit: lightviz lesson did not finish")
    out["seconds"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- phase 2: class

async def student(i: int, browser, base: str, args, shared: dict, deadline: float) -> dict:
    rec = new_record(i)
    link = SHARED[i % len(SHARED)]
    # the first --as-given students measure the shared link's configuration as given; the
    # others move alpha first and measure their own
    rec["as_given"], rec["link"] = i < args.as_given, i % len(SHARED)
    await asyncio.sleep(random.Random(i).uniform(0, args.arrival))  # students arrive
    ctx = await new_student_context(browser)
    shared["open"] += 1
    shared["peak_open"] = max(shared["peak_open"], shared["open"])
    page = await ctx.new_page()
    watch_page(page, rec)
    try:
        await open_shared_link(page, base, link, rec)
        if not rec["as_given"]:
            await move_alpha(page, link, args.presses, rec, random.Random(100 + i), deadline)
        if i < args.measure and time.monotonic() < deadline:
            await open_latency(page)
            await measure_short(page, rec, max(10.0, min(args.measure_timeout,
                                                         deadline - time.monotonic())))
    except Exception as exc:  # a failed load or a timeout: counted, the others go on
        rec["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        if not rec["loaded"]:
            rec["errors"].append("failed load")
        shared["through"] += 1
        # stay connected until every student is through: the sessions are concurrent
        try:
            await asyncio.wait_for(shared["done"].wait(),
                                   timeout=max(1.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        await ctx.close()
        shared["open"] -= 1
    return rec


async def class_phase(browser, base: str, args, watch: MemWatch, deadline: float) -> dict:
    watch.phase = "class"
    shared = {"open": 0, "peak_open": 0, "through": 0, "done": asyncio.Event()}
    cpu0 = (proc_cpu(watch.pid), client_cpu(watch.pid))
    probe = Probe(base).start()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(student(i, browser, base, args, shared, deadline))
             for i in range(args.sessions)]
    while shared["through"] < len(tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    rss_all_open = watch.rss()
    busy_s = time.perf_counter() - t0
    probe_times = await asyncio.to_thread(probe.stop)
    cpu = (proc_cpu(watch.pid) - cpu0[0], client_cpu(watch.pid) - cpu0[1])
    shared["done"].set()
    records = await asyncio.gather(*tasks)
    return {"records": records, "peak_open": shared["peak_open"],
            "wall_s": time.perf_counter() - t0, "busy_s": busy_s, "server_cpu_s": cpu[0],
            "client_cpu_s": cpu[1], "rss_all_open": rss_all_open, "probe": probe_times,
            "probe_errors": probe.errors,
            "rss_after": watch.settle(2.0)}


def overlaps(windows):
    """Pairs of timed windows (start, end, label) that overlap in time."""
    bad, latest = [], None
    for w in sorted(windows):
        if latest is not None and w[0] < latest[1]:
            bad.append((latest, w))
        if latest is None or w[1] > latest[1]:
            latest = w
    return bad


# ----------------------------------------------------------------------------- phase 3: sweep

def sweep_configs(n: int):
    """``n`` distinct (page, query) pairs: every architecture (ShuffleNet v1 with each group
    count), alpha and rho stops spread over their sliders, on Explore, Diagrams and Compare."""
    from lightviz.configure import ARCHS
    from lightviz.zoo.shufflenet_v1 import GROUPS as SHUFFLENET_V1_GROUPS

    variants = [(a, g) for a in ARCHS for g in (SHUFFLENET_V1_GROUPS if a == "shufflenet_v1" else (None,))]
    pages = ("", "diagrams", "compare")
    out, seen, k = [], set(), 0
    while len(out) < n:
        arch, g = variants[k % len(variants)]
        alpha = ALPHA_STOPS[(k * 7) % len(ALPHA_STOPS)]
        rho = RHO_STOPS[(k * 11 + k // len(variants)) % len(RHO_STOPS)]
        k += 1
        if (arch, g, alpha, rho) in seen:
            continue
        seen.add((arch, g, alpha, rho))
        out.append((pages[len(out) % len(pages)], url_of(arch, alpha, rho, g)[2:]))
    return out


async def sweep_phase(base: str, args, watch: MemWatch, deadline: float) -> dict:
    """``args.sweep`` distinct configurations, each opened as a new session (a shared link
    pasted into a fresh tab), ``args.workers`` at a time."""
    watch.phase = "sweep"
    ws_base = base.replace("http://", "ws://")
    todo = sweep_configs(args.sweep)
    before = watch.settle(2.0)
    timeline, errors, times = [(0, before)], [], []
    done = [0]
    queue = list(enumerate(todo))

    async def worker():
        while queue and time.monotonic() < deadline:
            i, (page, query) = queue.pop(0)
            try:
                r = await open_session(ws_base, page, query)
                errors.extend(f"{page or 'explore'}?{query}: {e}" for e in r["errors"])
                times.append(r["seconds"])
            except Exception as exc:
                errors.append(f"{page or 'explore'}?{query}: {type(exc).__name__}: {exc}")
            done[0] += 1
            if done[0] % 50 == 0:
                timeline.append((done[0], watch.rss()))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, args.workers))))
    wall = time.perf_counter() - t0
    if queue:
        errors.append(f"time limit reached: {len(queue)} configurations not opened")
    after = watch.settle(2.0)
    if timeline[-1][0] != done[0]:
        timeline.append((done[0], after))
    half = next((r for d, r in timeline if d >= done[0] / 2), after)
    return {"before": before, "after": after, "timeline": timeline, "opened": done[0],
            "errors": errors, "wall_s": wall, "run_s": times, "second_half_growth": after - half}


# ----------------------------------------------------------------------------- main

def browser_wrapper(args, tmp_dir: str):
    """The browsers stand in for the students' laptops: Chromium started through a small
    wrapper that lowers its priority (--client-nice) and, if asked, its CPUs (--client-cpus);
    every Chromium process inherits both. The server and this process keep theirs. Returns the
    executable to launch and the CPUs the browsers may use."""
    cpus = sorted(os.sched_getaffinity(0))
    if args.client_cpus == "auto":
        want = cpus[1:] if len(cpus) > 2 else cpus
    elif args.client_cpus == "all":
        want = cpus
    else:
        want = sorted(int(c) for c in args.client_cpus.split(","))
    if not args.client_nice and want == cpus:
        return fx.CHROMIUM, want
    path = Path(tmp_dir) / "chromium-for-students"
    path.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"os.nice({int(args.client_nice)})\n"
        f"os.sched_setaffinity(0, {set(want)!r})\n"
        f"os.execv({fx.CHROMIUM!r}, [{fx.CHROMIUM!r}] + sys.argv[1:])\n")
    path.chmod(0o755)
    return str(path), want



async def run(args) -> dict:
    from playwright.async_api import async_playwright

    t_start = time.monotonic()
    deadline = t_start + args.time_limit
    lock_dir = tempfile.mkdtemp(prefix="lightviz-classroom-lock-")
    cache_dir = tempfile.mkdtemp(prefix="lightviz-classroom-cache-")  # its own store
    port = fx.free_port()
    base = f"http://127.0.0.1:{port}"
    assert base.startswith("http://127.0.0.1:"), "loopback only"
    log_path = ROOT / "artifacts" / "classroom_server.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "wb")
    env = dict(os.environ, LIGHTVIZ_LOCK_DIR=lock_dir, LIGHTVIZ_CACHE_DIR=cache_dir,
               PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    watch = MemWatch(server.pid)
    out = {"base": base, "pid": server.pid, "load_before": os.getloadavg()[0]}
    try:
        fx.wait_healthy(base, server)
        watch.start()
        chromium, out["client_cpus"] = browser_wrapper(args, lock_dir)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=fx.CHROMIUM_ARGS)
            try:
                print("phase 1: idle memory ...", flush=True)
                out["idle"] = await idle_phase(browser, base, args, watch, deadline)
                if args.sessions and args.lesson:
                    print("the teacher: lightviz lesson over the shared links ...", flush=True)
                    out["lesson"] = await asyncio.to_thread(teacher_lesson, env, args, lock_dir, deadline)
                if args.sessions:
                    print(f"phase 2: {args.sessions} sessions at once ...", flush=True)
                    # the class may use what the sweep does not need (about 0.35 s a configuration)
                    reserve = 30 + (0.35 * args.sweep if args.sweep else 0)
                    class_deadline = max(time.monotonic() + 60, deadline - reserve)
                    out["class"] = await class_phase(browser, base, args, watch, class_deadline)
                if args.sweep:
                    print(f"phase 3: sweep of {args.sweep} configurations ...", flush=True)
                    out["sweep"] = await sweep_phase(base, args, watch, deadline)
            finally:
                await browser.close()
        watch.phase = "end"
        out["final"] = watch.settle(2.0)
        out["hwm"] = proc_status(server.pid, "VmHWM")
        out["peak_sampled"] = watch.peak()
        out["server_alive"] = server.poll() is None
        out["load_after"] = os.getloadavg()[0]
    finally:
        watch.stop()
        fx.stop(server)
        log.close()
        with open(ROOT / "artifacts" / "classroom_rss.csv", "w") as fh:
            fh.write("seconds,rss_mb,phase\n")
            for t, r, p in watch.samples:
                fh.write(f"{t:.2f},{r / MB:.1f},{p}\n")
    out["watch"] = watch
    return out


def report_class(out: dict, args) -> bool:
    """Print phase 2's figures; whether its goals were met."""
    ok = True
    mb = lambda b: f"{b / MB:,.0f} MB"  # noqa: E731
    idle = out["idle"]
    c = out["class"]
    recs = c["records"]
    served = sum(1 for r in recs if r["loaded"])
    updates = [u for r in recs for u in r["updates_s"]]
    loads = [r["load_s"] for r in recs if r["load_s"] is not None]
    errors = ([e for r in recs + [idle["alone"]] for e in r["errors"]] + idle["probe_errors"]
              + c["probe_errors"])
    ms = [r["measurement"] for r in recs if r["measurement"]]
    # a shared result is one measurement shown to many: its window counts once
    wins = sorted({(m["started_at"], m["finished_at"], m["label"]) for m in ms})
    bad = overlaps(wins)
    print(f"\n{args.sessions} sessions at once ({c['peak_open']} open together, {c['wall_s']:.0f} s):")
    print(f"  sessions served                {served} of {len(recs)}")
    if loads:
        print(f"  first page (load to numbers)   median {statistics.median(loads):.1f} s, "
              f"max {max(loads):.1f} s")
    alone = idle["alone"]
    if updates:
        print(f"  page update (key -> number)    n={len(updates)}  median {statistics.median(updates) * 1e3:.0f} ms  "
              f"p95 {pct(updates, 95) * 1e3:.0f} ms  max {max(updates) * 1e3:.0f} ms")
        if alone["updates_s"]:
            a = alone["updates_s"]
            print(f"    peer: one session alone      n={len(a)}  median {statistics.median(a) * 1e3:.0f} ms  "
                  f"p95 {pct(a, 95) * 1e3:.0f} ms  -> p95 under load x{pct(updates, 95) / pct(a, 95):.1f}")
    pr, pa = c["probe"], idle["probe_alone"]
    if pr:
        print(f"  server answer (new session, full page run)  n={len(pr)}  "
              f"median {statistics.median(pr) * 1e3:.0f} ms  "
              f"p95 {pct(pr, 95) * 1e3:.0f} ms  max {max(pr) * 1e3:.0f} ms")
        if pa:
            print(f"    peer: the same, server alone n={len(pa)}  median {statistics.median(pa) * 1e3:.0f} ms  "
                  f"p95 {pct(pa, 95) * 1e3:.0f} ms  -> p95 under load x{pct(pr, 95) / pct(pa, 95):.1f}")
    print(f"  CPU while the class worked     server {c['server_cpu_s']:.0f} s, browsers {c['client_cpu_s']:.0f} s "
          f"in {c['busy_s']:.0f} s on {os.cpu_count()} cores (browsers at nice {args.client_nice} "
          f"on CPU {','.join(map(str, out['client_cpus']))})")
    ok &= report_shared_links(out, recs)
    meas = [r["measure_s"] for r in recs if r["measure_s"] is not None and not r["as_given"]]
    ms = [r["measurement"] for r in recs if r["measurement"] and not r["as_given"]]
    if meas:
        print("  students measuring their own configuration (alpha moved):")
        waits = [m["lock_wait_s"] or 0 for m in ms]
        asked = sum(not r["as_given"] for r in recs if r["i"] < args.measure)
        print(f"  measurements                   {len(ms)} of {asked} asked; "
              f"click to result median {statistics.median(meas):.1f} s, max {max(meas):.1f} s; "
              f"queued up to {max(waits, default=0):.1f} s")
        if alone["measure_s"] is not None:
            print(f"    peer: one session alone      click to result {alone['measure_s']:.1f} s")
        flagged = sum(1 for m in ms if m.get("spread_ok") is False)
        print(f"  results flagged as noisy       {flagged} of {len(ms)} (IQR over 10% of the median: "
              f"the page says so; other sessions' work shares this host)")
    ok &= not bad
    print(f"  overlapping measurements       {len(bad)} pairs (goal: never): {'met' if not bad else 'MISSED'}")
    for a, b in bad[:5]:
        print(f"    {a[2]} [{a[0]:.3f}, {a[1]:.3f}] and {b[2]} [{b[0]:.3f}, {b[1]:.3f}]")
    # What the app did wrong (goal 0) apart from what the harness could not finish in time:
    # a Playwright timeout or the time limit is the browsers' or this machine's slowness unless
    # the server stopped answering, which the probe would show.
    late = [e for e in errors if e.startswith(("TimeoutError", "time limit"))]
    wrong = [e for e in errors if e not in late]
    ok &= not wrong
    print(f"  errors                         {len(wrong)} (goal 0): {'met' if not wrong else 'MISSED'}")
    for e in wrong[:10]:
        print(f"    {e}")
    if late:
        print(f"  not finished in time           {len(late)} steps (harness timeouts or the time "
              f"limit: the browsers' share of this machine, see CPU above)")
        for e in late[:3]:
            print(f"    {e}")
    print(f"  server RSS, all open / after   {mb(c['rss_all_open'])} / {mb(c['rss_after'])}")
    return ok


SHARED_GOAL_S = 10.0  # click to result for a shared link's configuration, median


def report_shared_links(out: dict, recs: list) -> bool:
    """The students who measure a shared link's configuration as given: click to result
    (goal: median at most 10 s) and what they cost (goal: at most one measurement per link,
    the teacher's included). Whether the goals were met."""
    given = [r for r in recs if r["as_given"]]
    if not given:
        return True
    lesson = out.get("lesson")
    if lesson is not None:
        taught = {r["label"]: r for r in lesson["rows"]}
        print(f"  the teacher's lightviz lesson  {len(lesson['rows'])} links in {lesson['seconds']:.0f} s: "
              + ", ".join(f"{r['label']} {r['status']}" for r in lesson["rows"]))
        for e in lesson["errors"]:
            print(f"    {e}")
    else:
        taught = {}
        print("  the teacher's lightviz lesson  not run (--no-lesson)")
    ok = True
    times = [r["measure_s"] for r in given if r["measure_s"] is not None]
    served = sum(1 for r in given if r["measurement"] and r["measurement"].get("shared"))
    print(f"  students measuring a shared link as given: {len(given)}; {len(times)} results, "
          f"{served} of them served from the store")
    if times:
        med = statistics.median(times)
        verdict = med <= SHARED_GOAL_S and len(times) == len(given)
        ok &= verdict
        print(f"    click to result              median {med:.1f} s, max {max(times):.1f} s "
              f"(goal: median <= {SHARED_GOAL_S:g} s): {'met' if verdict else 'MISSED'}")
    per_link = {}
    for r in given:
        m = r["measurement"]
        if m and not m.get("shared"):
            per_link.setdefault(r["link"], set()).add((m["started_at"], m["finished_at"]))
    counts = []
    for k, link in enumerate(SHARED):
        label = make_config(link[0], link[1], link[2], groups=link[3]).label
        teacher = 1 if label in taught and taught[label]["status"] == "measured" else 0
        if any(r["link"] == k for r in given):
            counts.append((label, teacher, len(per_link.get(k, ()))))
    worst = max((t + n for _, t, n in counts), default=0)
    ok &= worst <= 1
    print("    measurements per link        " + "; ".join(f"{lab}: {t} by the teacher + {n} by students"
                                                       for lab, t, n in counts)
          + f" (goal: at most 1 each): {'met' if worst <= 1 else 'MISSED'}")
    return ok


def report(out: dict, args) -> int:
    ok = True
    mb = lambda b: f"{b / MB:,.0f} MB"  # noqa: E731
    print(f"\nlightviz classroom load on {os.cpu_count()} CPUs, server {out['base']} (loopback); "
          f"1-min load average {out['load_before']:.1f} before, {out['load_after']:.1f} after")
    if out["load_before"] > 1.0:
        print("(the machine was busy before the run started: other work took CPU from the "
              "browsers and the server, so the times below are pessimistic)")

    idle = out["idle"]
    print("\nMemory of the server (VmRSS):")
    print(f"  no session                     {mb(idle['no_session'])}")
    print(f"  one idle session on Explore    {mb(idle['explore'])}")
    verdict = idle["latency"] < IDLE_GOAL_MB * MB
    ok &= verdict
    print(f"  ... after it opened Latency    {mb(idle['latency'])}   goal < {IDLE_GOAL_MB} MB in all: "
          f"{'met' if verdict else 'MISSED'}")

    if "class" in out:
        ok &= report_class(out, args)

    if "sweep" in out:
        s = out["sweep"]
        growth = s["after"] - s["before"]
        verdict = growth < SWEEP_GOAL_MB * MB and s["opened"] >= args.sweep
        ok &= verdict and not s["errors"]
        runs = [t for t in s["run_s"] if t is not None]
        print(f"\nSweep: {s['opened']} distinct configurations, each opened as a new session "
              f"(Explore, Diagrams, Compare in turn; {args.workers} at a time) in {s['wall_s']:.0f} s"
              + (f"; a run median {statistics.median(runs):.2f} s, p95 {pct(runs, 95):.2f} s" if runs else ""))
        print("  RSS after N configurations     " + "  ".join(f"{d}: {mb(r)}" for d, r in s["timeline"]))
        state = ("met" if verdict else "MISSED" if s["opened"] >= args.sweep
                 else f"incomplete ({s['opened']} of {args.sweep} in the time limit)")
        print(f"  growth                         {mb(growth)} (goal < {SWEEP_GOAL_MB} MB): "
              f"{state}; in the second half {mb(s['second_half_growth'])}")
        print(f"  errors                         {len(s['errors'])}")
        for e in s["errors"][:5]:
            print(f"    {e}")

    print(f"\nServer peak memory: VmHWM {mb(out['hwm'])} (sampled RSS peak {mb(out['peak_sampled'])}); "
          f"RSS at the end {mb(out['final'])}; server alive at the end: {out['server_alive']}")
    print("RSS timeline (every 0.25 s): artifacts/classroom_rss.csv; server log: artifacts/classroom_server.log")
    by_phase = {}
    for t, r, p in out["watch"].samples:
        lo, hi, t0, t1 = by_phase.get(p, (r, r, t, t))
        by_phase[p] = (min(lo, r), max(hi, r), min(t0, t), max(t1, t))
    for p, (lo, hi, t0, t1) in by_phase.items():
        print(f"  {p:<6} {t0:6.1f}-{t1:6.1f} s   RSS {mb(lo)} .. {mb(hi)}")
    ok &= out["server_alive"]
    print(f"\nAll goals met: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20,
                    help="students at once (at most 100; 0 skips phase 2: memory figures only)")
    ap.add_argument("--presses", type=int, default=3, help="alpha key presses per student")
    ap.add_argument("--measure", type=int, default=None,
                    help="how many students measure latency (default: all)")
    ap.add_argument("--as-given", type=int, default=None,
                    help="how many students measure the shared link's configuration as given, "
                         "without moving alpha (default: half of them)")
    ap.add_argument("--no-lesson", dest="lesson", action="store_false",
                    help="skip the teacher's `lightviz lesson` over the shared links before class")
    ap.add_argument("--lesson-budget", type=float, default=2.0,
                    help="the teacher's budget per configuration, seconds (default 2, the page's)")
    ap.add_argument("--arrival", type=float, default=20.0,
                    help="students arrive over this many seconds (0: all at once)")
    ap.add_argument("--measure-timeout", type=float, default=300.0,
                    help="seconds a student waits for a measurement (queue included)")
    ap.add_argument("--sweep", type=int, default=500, help="distinct configurations (0: skip; at most 5000)")
    ap.add_argument("--workers", type=int, default=4, help="sessions sharing the sweep")
    ap.add_argument("--time-limit", type=float, default=570.0, help="seconds for the whole run")
    ap.add_argument("--client-nice", type=int, default=19,
                    help="niceness of the browsers (0: same priority as the server)")
    ap.add_argument("--client-cpus", default="auto",
                    help="CPUs for the browsers: auto (all but CPU 0 on more than 2 CPUs, so the "
                         "server has one to itself; all of them on 2), all, or a list like 1,2")
    args = ap.parse_args(argv)
    args.sessions = max(0, min(args.sessions, 100))
    args.sweep = max(0, min(args.sweep, 5000))
    args.measure = args.sessions if args.measure is None else max(0, min(args.measure, args.sessions))
    args.as_given = args.sessions // 2 if args.as_given is None else max(0, min(args.as_given, args.sessions))
    missing = fx._browser_missing()
    if missing:
        print(f"classroom_load needs Chromium and Playwright: {missing}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    out = asyncio.run(run(args))
    rc = report(out, args)
    print(f"(whole run {time.perf_counter() - t0:.0f} s)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
