"""Framing and parsing under any split of the bytes: the same messages as a packet-by-packet read.

The protocol decodes every complete packet of a read at once and takes plain ``Key: value``
packets by a quick path; whatever the reads' boundaries and whatever the lines (values with
colons, empty values with or without their space, Chinese text, odd header names, legacy
``Response: Follows`` text, stray blank lines), each packet must come out as the careful
parser makes it, in order.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ctiserver.ami.message import AmiMessage
from ctiserver.ami.protocol import AmiProtocol, _parse_careful, parse_packet

KEYS = ["Event", "Response", "Channel", "CallerIDName", "Linkedid", "Queue", "X-Odd", "Key with space",
        "Output", "event", "ActionID", "Variable"]
VALUES = ["", "Success", "Follows", "PJSIP/1001-00000001", "张伟", "a: b", "Newchannel", "x:y", " lead"]


@st.composite
def packets(draw, firsts=("Event: Newchannel", "Response: Success", "Response: Follows",
                           "Event: QueueCallerJoin", "Garbage line", "event: Hangup")) -> str:
    first = draw(st.sampled_from(firsts))
    lines = [first]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(st.sampled_from(KEYS)) + ":")  # an empty value without its space
        elif kind == 1:
            lines.append(draw(st.sampled_from(["free text", "--END COMMAND--", "a:b: c"])))
        else:
            lines.append(f"{draw(st.sampled_from(KEYS))}: {draw(st.sampled_from(VALUES))}")
    return "\r\n".join(lines)


def _careful(text: str) -> AmiMessage | None:
    return _parse_careful(text.strip("\r\n")) if text.strip("\r\n") else None


@settings(max_examples=500, deadline=None)
@given(packets())
def test_the_quick_path_parses_as_the_careful_one(text: str) -> None:
    quick, careful = parse_packet(text), _parse_careful(text)
    assert (quick is None) == (careful is None)
    if quick is not None and careful is not None:
        assert quick.headers == careful.headers


@settings(max_examples=300, deadline=None)
@given(st.lists(packets(firsts=("Event: Newchannel", "Event: QueueCallerJoin", "Garbage line")),
                min_size=1, max_size=6), st.lists(st.integers(1, 40), min_size=1, max_size=30),
       st.booleans())
def test_any_split_gives_the_careful_parse_of_each_packet(texts: list[str], cuts: list[int], blank: bool) -> None:
    sep = "\r\n\r\n\r\n" if blank else "\r\n\r\n"
    stream = ("Asterisk Call Manager/9.0.0\r\n" + "".join(t + sep for t in texts)).encode("utf-8")
    got: list[AmiMessage] = []
    proto = AmiProtocol(got.append, lambda *_: None)
    proto.release_events()
    at, i = 0, 0
    while at < len(stream):
        step = cuts[i % len(cuts)]
        proto.data_received(stream[at:at + step])
        at, i = at + step, i + 1
    expected = [m for m in (_careful(t) for t in texts) if m is not None and m.name]  # events only
    assert [m.headers for m in got] == [m.headers for m in expected]
