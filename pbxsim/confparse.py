"""Readers for the Asterisk config files the simulator needs (extensions, queues, pjsip)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    """One ``[name](options)`` block with its ordered key/value lines."""

    name: str
    options: list[str]
    items: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Last value of ``key`` (later lines override earlier ones, as Asterisk reads them)."""
        for k, v in reversed(self.items):
            if k == key:
                return v
        return default


def _strip_comment(line: str) -> str:
    # ';' starts a comment unless escaped as '\;'
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def parse_sections(text: str) -> list[Section]:
    """Split an Asterisk .conf text into sections, resolving templates ``(!)`` / ``(tpl)``."""
    sections: list[Section] = []
    templates: dict[str, Section] = {}
    current: Section | None = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        m = re.match(r"^\[([^\]]+)\](?:\(([^)]*)\))?$", line)
        if m:
            opts = [o.strip() for o in (m.group(2) or "").split(",") if o.strip()]
            current = Section(m.group(1), opts)
            for opt in opts:
                if opt in templates:
                    current.items.extend(templates[opt].items)
            if "!" in opts:
                templates[current.name] = current
            else:
                sections.append(current)
            continue
        if current is None:
            continue
        m = re.match(r"^([^=]+?)\s*=>?\s*(.*)$", line)
        if m:
            current.items.append((m.group(1).strip(), m.group(2).strip()))
    return sections


@dataclass(frozen=True)
class Endpoint:
    """A PJSIP endpoint: name, dialplan context and caller id."""

    name: str
    context: str
    cid_name: str
    cid_num: str


def parse_pjsip(text: str) -> dict[str, Endpoint]:
    """Endpoints of pjsip.conf (type=endpoint sections) by name."""
    out: dict[str, Endpoint] = {}
    for sec in parse_sections(text):
        if sec.get("type") != "endpoint":
            continue
        cid = sec.get("callerid", "") or ""
        m = re.match(r'^\s*"?([^"<]*)"?\s*<([^>]*)>\s*$', cid)
        name, num = (m.group(1).strip(), m.group(2).strip()) if m else ("", cid.strip())
        out[sec.name] = Endpoint(sec.name, sec.get("context", "default") or "default", name, num)
    return out


@dataclass(frozen=True)
class QueueConf:
    """The queues.conf settings the queue engine honours."""

    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: float = 0.0
    ringinuse: bool = True
    joinempty: frozenset[str] = frozenset()
    leavewhenempty: frozenset[str] = frozenset()
    maxlen: int = 0
    musicclass: str = "default"
    context: str = ""  # a waiting caller's single key that is an extension here lets them out (valid_exit)


def _yes(v: str | None, default: bool) -> bool:
    if v is None:
        return default
    return v.strip().lower() in ("yes", "true", "1", "on", "y")


def _cond_set(v: str | None) -> frozenset[str]:
    if v is None:
        return frozenset()
    v = v.strip().lower()
    if v in ("no", "false", "0", ""):
        return frozenset()
    if v in ("yes", "true", "strict", "loose"):
        return frozenset({"paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "unknown", "wrapup"})
    return frozenset(p.strip() for p in v.split(",") if p.strip())


def parse_queues(text: str) -> dict[str, QueueConf]:
    """Queues of queues.conf by name ([general] is skipped)."""
    out: dict[str, QueueConf] = {}
    for sec in parse_sections(text):
        if sec.name == "general":
            continue
        out[sec.name] = QueueConf(
            name=sec.name,
            strategy=(sec.get("strategy", "ringall") or "ringall").lower(),
            timeout=float(sec.get("timeout", "15") or 15),
            retry=float(sec.get("retry", "5") or 5),
            wrapuptime=float(sec.get("wrapuptime", "0") or 0),
            ringinuse=_yes(sec.get("ringinuse"), True),
            joinempty=_cond_set(sec.get("joinempty")),
            leavewhenempty=_cond_set(sec.get("leavewhenempty")),
            maxlen=int(sec.get("maxlen", "0") or 0),
            musicclass=sec.get("musicclass", "default") or "default",
            context=(sec.get("context", "") or "").strip(),
        )
    return out


@dataclass
class Step:
    """One dialplan priority: application and raw (unsubstituted) arguments."""

    priority: int
    label: str | None
    app: str
    data: str


@dataclass
class Extension:
    """An extension (or pattern) of a context: ordered priorities and optional hint."""

    name: str
    steps: list[Step] = field(default_factory=list)
    hint: str | None = None

    def step(self, priority: int) -> Step | None:
        """The step at ``priority`` or None."""
        for s in self.steps:
            if s.priority == priority:
                return s
        return None

    def label(self, name: str) -> int | None:
        """Priority of label ``name`` or None."""
        for s in self.steps:
            if s.label == name:
                return s.priority
        return None


def _split_app(text: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$", text, re.S)
    if not m:
        return text.strip(), ""
    return m.group(1), m.group(2) or ""


def parse_extensions(text: str) -> tuple[dict[str, dict[str, Extension]], dict[str, str]]:
    """Contexts (name -> exten name -> Extension) and [globals] of extensions.conf."""
    contexts: dict[str, dict[str, Extension]] = {}
    globals_: dict[str, str] = {}
    for sec in parse_sections(text):
        if sec.name == "general":
            continue
        if sec.name == "globals":
            globals_.update(dict(sec.items))
            continue
        ctx = contexts.setdefault(sec.name, {})
        last: Extension | None = None
        last_prio = 0
        for key, value in sec.items:
            if key == "exten":
                parts = value.split(",", 2)
                if len(parts) < 3:
                    continue
                name, prio, rest = parts[0].strip(), parts[1].strip(), parts[2]
                ext = ctx.setdefault(name, Extension(name))
                if prio == "hint":
                    ext.hint = rest.strip()
                    continue
                last = ext
                last_prio = ext.steps[-1].priority if (ext.steps and prio.startswith("n")) else 0
            elif key == "same" and last is not None:
                prio, _, rest = value.partition(",")
                prio = prio.strip()
                ext = last
            else:
                continue
            m = re.match(r"^(n|\d+)(?:\(([^)]+)\))?$", prio)
            if not m:
                continue
            num = last_prio + 1 if m.group(1) == "n" else int(m.group(1))
            app, data = _split_app(rest)
            ext.steps.append(Step(num, m.group(2), app, data))
            last_prio = num
    return contexts, globals_


def pattern_matches(pattern: str, exten: str) -> bool:
    """True if Asterisk extension ``pattern`` (``_X.``, ``_[09]X.``...) matches ``exten``."""
    if not pattern.startswith("_"):
        return pattern == exten
    rx = []
    p = pattern[1:]
    i = 0
    while i < len(p):
        c = p[i]
        u = c.upper()
        # N, X and Z are wildcards whatever their case (the README's surprise about _listen-X.)
        if u == "X":
            rx.append("[0-9]")
        elif u == "Z":
            rx.append("[1-9]")
        elif u == "N":
            rx.append("[2-9]")
        elif c == ".":
            rx.append(".+")
        elif c == "!":
            rx.append(".*")
        elif c == "[":
            j = p.index("]", i)
            rx.append("[" + p[i + 1:j] + "]")
            i = j
        else:
            rx.append(re.escape(c))
        i += 1
    return re.fullmatch("".join(rx), exten) is not None


def match_more(pattern: str, data: str) -> int:
    """main/pbx.c ``_extension_match_core`` in E_MATCHMORE mode: could ``pattern`` match ``data`` plus
    more digits? 1 yes, 0 no, 2 'early match' (a ``!`` reached: Asterisk's answer is then a final no)."""
    if not pattern.startswith("_"):
        return 1 if pattern.startswith(data) and len(pattern) > len(data) else 0
    p, i, d = pattern[1:], 0, 0
    while d < len(data) and i < len(p):
        c = p[i]
        u = c.upper()
        if c == "[":
            end = p.index("]", i)
            chars, k = p[i + 1:end], 0
            hit = False
            while k < len(chars):
                if k + 2 < len(chars) and chars[k + 1] == "-":
                    hit = hit or chars[k] <= data[d] <= chars[k + 2]
                    k += 3
                else:
                    hit = hit or data[d] == chars[k]
                    k += 1
            if not hit:
                return 0
            i = end
        elif u == "N":
            if not "2" <= data[d] <= "9":
                return 0
        elif u == "X":
            if not data[d].isdigit():
                return 0
        elif u == "Z":
            if not "1" <= data[d] <= "9":
                return 0
        elif c == ".":
            return 1
        elif c == "!":
            return 2
        elif data[d] != c:
            return 0
        i += 1
        d += 1
    if d < len(data):
        return 0
    if i >= len(p):
        return 0  # an exact match is a failure for E_MATCHMORE
    return 2 if p[i] == "!" else 1


class ConfFiles:
    """The other files of a config dir (features.conf, confbridge.conf, manager.conf...), each read once."""

    def __init__(self, conf_dir: str | Path):
        self.dir = Path(conf_dir)
        self._cache: dict[str, dict[str, list[tuple[str, str]]]] = {}

    def sections(self, name: str) -> dict[str, list[tuple[str, str]]]:
        """``name`` as {section: [(key lowercased, value), ...]} in file order ({} when absent)."""
        if name not in self._cache:
            out: dict[str, list[tuple[str, str]]] = {}
            path = self.dir / name
            section = ""
            for raw in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
                line = raw.split(";", 1)[0].strip()
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                    out.setdefault(section, [])
                elif section and "=" in line:
                    k, _, v = line.partition("=")
                    out[section].append((k.strip().lower(), v.strip()))
            self._cache[name] = out
        return self._cache[name]


def load_dir(conf_dir: str | Path) -> tuple[dict, dict, dict[str, QueueConf], dict[str, Endpoint]]:
    """Read extensions.conf, queues.conf and pjsip.conf of ``conf_dir``."""
    d = Path(conf_dir)

    def read(name: str) -> str:
        p = d / name
        return p.read_text(encoding="utf-8") if p.exists() else ""

    contexts, globals_ = parse_extensions(read("extensions.conf"))
    return contexts, globals_, parse_queues(read("queues.conf")), parse_pjsip(read("pjsip.conf"))
