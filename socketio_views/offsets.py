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


#: The longest offset: two 20-digit numbers and their dash.
MAX_OFFSET_LENGTH = 41


def parse_offset(offset):
    """``"ms-seq"`` as a tuple of ints that orders offsets, or ``None`` if it is not one Redis would accept.

    Each part is ASCII digits below 2**64, so that an offset a client made up
    is refused here (``invalid_offset``), not by Redis as an error that would
    count as an outage.
    """
    if not isinstance(offset, str) or len(offset) > MAX_OFFSET_LENGTH:
        return None
    ms, sep, seq = offset.partition("-")
    if not (sep and ms.isascii() and ms.isdigit() and seq.isascii() and seq.isdigit()):
        return None
    parsed = int(ms), int(seq)
    return parsed if max(parsed) < 2**64 else None


@attrs.frozen
class Entry:
    """One kept broadcast: its offset, event, payload and the subscription it skipped."""

    offset: str
    event: str
    data: object
    skip_sid: str | None = None
