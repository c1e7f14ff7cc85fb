"""
History's values, shared by every store: offsets and entries.

An offset is ``"<ms>-<seq>"``, as Redis streams number their entries; a
client sends back the last one it received to recover what followed it.

Example usage::

    from socketio_views.offsets import START, parse_offset

    parse_offset("1700000000000-3") > parse_offset(START)   # True
"""
import attrs

#: The offset before every entry of a channel.
START = "0-0"


def parse_offset(offset):
    """``"ms-seq"`` as a tuple of ints that orders offsets, or ``None`` if it is not an offset."""
    if not isinstance(offset, str):
        return None
    ms, sep, seq = offset.partition("-")
    if not (sep and ms.isdigit() and seq.isdigit()):
        return None
    return int(ms), int(seq)


@attrs.frozen
class Entry:
    """One kept broadcast: its offset, event, payload and the subscription it skipped."""

    offset: str
    event: str
    data: object
    skip_sid: str | None = None
