"""The Latency page's words for messages written for the command line.

:func:`lightviz.latency.setup.make_setup` and the runtimes refuse a setup in one line that names
the option to change as the CLI spells it ("use --mode eager", "drop --channels-last"). The
page has no options, it has controls: :func:`for_page` says the same thing with the control's
name (choose **Mode** eager, untick **Channels-last**), leaving the CLI's messages as they are.
"""

from __future__ import annotations

import re

# option -> the page's control that sets it
CONTROLS = {"device": "Device", "dtype": "dtype", "batch": "Batch", "threads": "CPU threads",
            "budget": "Time budget (s)", "mode": "Mode", "runtime": "Runtime",
            "channels-last": "Channels-last", "no-fold-bn": "Fold batch norm"}
FLAGS = {"channels-last": "Channels-last", "no-fold-bn": "Fold batch norm"}  # checkboxes

_VERB_FLAG = re.compile(r"\b(use|drop|add) --([a-z][a-z-]*)\b")
_VALUED = re.compile(r"--([a-z][a-z-]*) (\S+?)(?=[\s),;:.]|$)")
_BARE = re.compile(r"--([a-z][a-z-]*)\b")


def for_page(message: str) -> str:
    """``message`` with the CLI's options named as the page's controls: "use --mode eager" ->
    "choose **Mode** eager", "drop --channels-last" -> "untick **Channels-last**"."""
    def verb_flag(m: re.Match) -> str:
        verb, name = m.group(1), m.group(2)
        if name in FLAGS:
            return f"{'untick' if verb == 'drop' else 'tick'} **{FLAGS[name]}**"
        return f"choose --{name}" if name in CONTROLS else m.group(0)

    text = _VERB_FLAG.sub(verb_flag, message)
    text = _VALUED.sub(lambda m: f"**{CONTROLS[m.group(1)]}** {m.group(2)}"
                       if m.group(1) in CONTROLS and m.group(1) not in FLAGS else m.group(0), text)
    return _BARE.sub(lambda m: f"**{CONTROLS[m.group(1)]}**" if m.group(1) in CONTROLS
                     else m.group(0), text)
