"""Configuration: defaults, then a TOML file, then environment variables.

Loaded once at start into frozen dataclasses. Every setting has a help text;
``python -m ctiserver --help`` prints them all with their environment names.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(Exception):
    """A setting is missing, malformed or out of range."""


def setting(default: Any, help: str) -> Any:  # noqa: A002 - mirrors argparse wording
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class AmiConfig:
    host: str = setting("", "Asterisk AMI host; empty starts the built-in PBX simulator (demo mode)")
    port: int = setting(5038, "Asterisk AMI TCP port")
    username: str = setting("cti", "AMI user (manager.conf section)")
    secret: str = setting("cti-secret", "AMI secret")
    connect_timeout: float = setting(5.0, "seconds to wait for the TCP connect and the login reply")
    action_timeout: float = setting(10.0, "seconds to wait for the reply to one AMI action")
    ping_interval: float = setting(10.0, "seconds between keep-alive Pings (half-open link detection)")
    reconnect_min: float = setting(0.5, "first reconnect delay in seconds (doubles, with jitter)")
    reconnect_max: float = setting(30.0, "largest reconnect delay in seconds")


@dataclass(frozen=True)
class DbConfig:
    dsn: str = setting("", "PostgreSQL DSN; empty makes `make run` start a local cluster under .run/")
    journal_path: str = setting(".run/journal.jsonl", "append-only journal for writes made while PostgreSQL is down")
    pool_size: int = setting(5, "asyncpg pool size")


@dataclass(frozen=True)
class HttpConfig:
    host: str = setting("127.0.0.1", "address the panel and API listen on")
    port: int = setting(8080, "port the panel and API listen on")
    session_secret: str = setting("", "key that signs login sessions; empty makes a random one per start")
    session_hours: float = setting(12.0, "how long a login session lasts")
    metrics: bool = setting(True, "serve GET /metrics (Prometheus text format, no session: aggregates only)")
    tls_cert: str = setting("", "PEM certificate (chain) for https and wss; empty serves plain http (make run makes a self-signed one)")
    tls_key: str = setting("", "PEM private key of http.tls_cert")
    push_linger: float = setting(0.05, "seconds between two websocket frames to a supervisor's, admin's or wall display's socket under load: a burst of pushes gathers into one frame (an idle socket and agents' pops are never held); 0 = none")


@dataclass(frozen=True)
class IvrConfig:
    enabled: bool = setting(True, "run the FastAGI IVR inside this server (false when it runs as its own service: python -m ivr)")
    host: str = setting("127.0.0.1", "address the FastAGI IVR listens on")
    port: int = setting(4573, "FastAGI port (Asterisk: AGI(agi://host:port/hotline))")
    menu_file: str = setting("", "IVR menu tree (TOML); empty uses ivr/menus/hotline.toml")
    priorities: tuple[str, ...] = setting(("vip=10",), "queue priority (QUEUE_PRIO) per customer class the IVR finds: class=priority; a higher one waits ahead, other classes 0")
    pin_lockout_after: int = setting(5, "wrong PINs (over any number of calls) that lock a customer number")
    pin_lockout_minutes: float = setting(30.0, "how long a customer number stays locked after too many wrong PINs")
    stall_exit_seconds: float = setting(5.0, "python -m ivr exits (code 70) when its event loop has not run for this long, so Asterisk's AGI sockets close and the dialplan sends the callers to the queue; its service manager restarts it (0 = never)")


@dataclass(frozen=True)
class CallCenterConfig:
    queues: tuple[str, ...] = setting(("support",), "queues (skills) agents sign in to by default")
    busy_reasons: tuple[str, ...] = setting(
        ("break", "lunch", "meeting", "training", "after-call"), "reasons an agent may give for being busy"
    )
    wrapup_seconds: float = setting(10.0, "after-call work: seconds of wrap-up after each call (0 = none)")
    wrapup_per_queue: tuple[str, ...] = setting((), "wrap-up seconds per queue, e.g. support=30,sales=15 (others: wrapup_seconds)")
    recent_workorders: int = setting(5, "how many of a customer's past work orders the screen-pop shows")
    service_level_seconds: int = setting(20, "service level threshold: a call answered within this many seconds of queueing counts as within it")
    hold_warning_seconds: float = setting(30.0, "the panel warns when a call has been on hold this long (seconds)")
    recording: bool = setting(True, "link answered calls' recordings (MixMonitor, started in the dialplan) to their work orders and let the panel play them")
    recordings_dir: str = setting("", "where Asterisk's MixMonitor writes recordings, read from here (empty: /var/spool/asterisk/monitor; in demo mode .run/recordings)")

    def wrapup_for(self, queue: str) -> float:
        """Wrap-up seconds after a call of ``queue`` ('' for calls outside the queues)."""
        for item in self.wrapup_per_queue:
            name, _, seconds = item.partition("=")
            if name.strip() == queue:
                return float(seconds)
        return self.wrapup_seconds


@dataclass(frozen=True)
class DemoConfig:
    rate: float = setting(3.0, "demo mode (no ami.host): simulated inbound calls per minute; 0 = none")
    agents: tuple[str, ...] = setting(("1002", "1003"), "demo mode: agents signed in automatically so calls are answered")
    time_scale: float = setting(1.0, "demo mode: simulator speed (2.0 = twice as fast)")
    ami_port: int = setting(0, "demo mode: port of the simulator's AMI (0 = any free loopback port)")


@dataclass(frozen=True)
class SupervisionConfig:
    show_agent_modes: tuple[str, ...] = setting(("whisper", "barge"), "monitoring modes the monitored agent's panel shows (listen, whisper, barge)")
    ring_seconds: int = setting(20, "seconds the supervisor's phone rings before a monitor or intercept gives up")
    alert_wait_seconds: float = setting(60.0, "alert supervisors when a caller waits in a queue longer than this (seconds)")
    alert_busy_seconds: float = setting(900.0, "alert supervisors when an agent is busy longer than this (seconds; per reason: alert_busy_per_reason)")
    alert_busy_per_reason: tuple[str, ...] = setting(("lunch=3600",), "busy alert limit per busy reason, e.g. lunch=3600,training=7200 (others: alert_busy_seconds)")
    alert_wrapup_seconds: float = setting(120.0, "alert supervisors when an agent is in wrap-up longer than this (seconds); a hold is alerted past callcenter.hold_warning_seconds")
    alert_check_seconds: float = setting(1.0, "how often the alert thresholds are checked (seconds)")


@dataclass(frozen=True)
class WallboardConfig:
    token: str = setting("", "read-only token of the wall display (/wallboard?token=…); empty: supervisors' sessions only")
    refresh_seconds: float = setting(5.0, "how often the wall's figures are recomputed (and pushed when changed)")
    hours: int = setting(8, "hours of the chart (calls per interval, service level)")
    interval_minutes: int = setting(15, "the chart's interval in minutes")
    wait_amber_seconds: float = setting(30.0, "a caller's wait shown amber from this many seconds")
    wait_red_seconds: float = setting(60.0, "a caller's wait shown red from this many seconds")
    service_level_amber_pct: float = setting(80.0, "service level shown amber at or below this %")
    service_level_red_pct: float = setting(60.0, "service level shown red at or below this %")


@dataclass(frozen=True)
class WorkOrderConfig:
    categories: tuple[str, ...] = setting(
        ("consultation=account/card/loan/other", "complaint=service/fees/waiting/fault/other", "suggestion",
         "praise", "fault_report=card/online/atm/other", "business_request"),
        "work-order category tree: category=sub/sub/... (a category without = has no sub-categories)")
    urgencies: tuple[str, ...] = setting(("low", "normal", "high", "urgent"), "urgency levels, lowest first")
    departments: tuple[str, ...] = setting(
        ("cards=1003", "deposits=1002", "audit=1003"),
        "departments that handle work orders and their handlers' account ids: name=id/id/...")
    repeat_department: str = setting("audit", "department a repeat complaint (unsatisfied callback) goes to; empty: back to the same one")
    required: tuple[str, ...] = setting(("category", "request"), "fields a work order needs before it is submitted")
    wrapup_required: tuple[str, ...] = setting((), "fields the call's work order needs before its agent may end wrap-up (ready, busy, sign out), e.g. category,request; empty: no gate")
    deadlines: tuple[str, ...] = setting(
        ("complaint.forward=0.5d", "complaint.answer=3d", "complaint.review=2d", "complaint.callback=0.5d",
         "complaint.repeat=5d", "consultation.forward=30min", "consultation.answer=24h clock",
         "fault_report.answer=5d", "fault_report.deferred=30d", "business_request.answer=10d",
         "business_request.deferred=30d"),
        "deadline per category and step (forward, answer, review, callback, repeat, deferred): "
        "category.step=0.5d|3h|30min working time, or 24h clock")
    amber_fraction: float = setting(0.25, "a work order turns amber in the last fraction of its step's allowance")
    timezone: str = setting("Asia/Shanghai", "time zone of the working calendar")
    hours: tuple[str, ...] = setting(("mon-fri=09:00-12:00 13:00-18:00",),
                                     "working hours: days=HH:MM-HH:MM ... (e.g. sat=09:00-12:00); other days are off")
    holidays: tuple[str, ...] = setting((), "public holidays: YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
    workdays: tuple[str, ...] = setting((), "make-up working days on a weekend (worked with the longest day's hours)")
    text_max: int = setting(4000, "longest request, answer, notes or comment a work order takes (characters)")
    overdue_scan_seconds: float = setting(60.0, "how often to look for work orders that fell due, to tell their handlers and the supervisors")
    complaint_check_seconds: float = setting(60.0, "how often the complaint early-warning thresholds are read again besides on each complaint (a new day, answered calls)")


@dataclass(frozen=True)
class HoursConfig:
    hotlines: tuple[str, ...] = setting((), "service hours per hotline (IVR menu name): 'hotline: mon-fri=08:00-20:00; sat=09:00-12:00'; holidays, make-up days and time zone are workorders.*; a hotline not listed is always open")


@dataclass(frozen=True)
class SurveyConfig:
    low_rating: int = setting(2, "a post-call survey rating at or under this opens a callback work order (0: never)")
    callback_category: str = setting("complaint=service", "category (=sub-category) of that callback work order")
    callback_department: str = setting("audit", "department the callback work order is submitted to (empty: left a draft)")


@dataclass(frozen=True)
class VoicemailConfig:
    claim_minutes: float = setting(60.0, "a voicemail nobody claimed within this many minutes is flagged to the supervisors")
    spool_dir: str = setting("", "Asterisk's voicemail spool (…/voicemail/<context>/<box>/INBOX); empty: the simulator's, or /var/spool/asterisk/voicemail")


@dataclass(frozen=True)
class CallbackConfig:
    retries: int = setting(2, "callbacks: times a caller who did not answer (busy, no answer) is dialled again")
    retry_seconds: float = setting(120.0, "callbacks: seconds between a failed attempt and the next")
    agent_ring_seconds: int = setting(20, "callbacks: seconds the reserved agent's phone rings before another agent is tried")
    dial_seconds: int = setting(30, "callbacks: seconds the caller's phone rings on each attempt")
    manual_category: str = setting("consultation", "category of the work order opened when every callback attempt failed")
    manual_department: str = setting("", "department that work order is submitted to (empty: left a draft)")


@dataclass(frozen=True)
class PhoneConfig:
    ws_url: str = setting("", "Asterisk's SIP websocket the panel's browser phone registers on; empty: the panel's host, ws://…:8088/ws (wss://…:8089/ws under TLS)")
    ice_servers: str = setting("", "STUN/TURN URLs (comma-separated) the browser phone gathers ICE candidates with; empty: host candidates only (LAN)")


@dataclass(frozen=True)
class ServerConfig:
    stop_timeout: float = setting(10.0, "seconds a stop (SIGINT/SIGTERM) may take in any state; what is not done by then is logged, the journal keeps unwritten records")
    mode: str = setting("auto", "auto (production when ami.host is set, else demo), demo, lab (a real Asterisk with demo secrets) or production: production refuses demo secrets at start")


@dataclass(frozen=True)
class LogConfig:
    level: str = setting("info", "log level: debug, info, warning, error")
    format: str = setting("auto", "log format: json, console, or auto (console on a terminal, else json)")


@dataclass(frozen=True)
class Config:
    ami: AmiConfig = field(default_factory=AmiConfig)
    db: DbConfig = field(default_factory=DbConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    ivr: IvrConfig = field(default_factory=IvrConfig)
    callcenter: CallCenterConfig = field(default_factory=CallCenterConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)
    wallboard: WallboardConfig = field(default_factory=WallboardConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    workorders: WorkOrderConfig = field(default_factory=WorkOrderConfig)
    callbacks: CallbackConfig = field(default_factory=CallbackConfig)
    hours: HoursConfig = field(default_factory=HoursConfig)
    log: LogConfig = field(default_factory=LogConfig)
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    voicemail: VoicemailConfig = field(default_factory=VoicemailConfig)
    phone: PhoneConfig = field(default_factory=PhoneConfig)


ENV_PREFIX = "CTI_"


def describe() -> list[tuple[str, str, Any, str]]:
    """Every setting as (toml key, environment variable, default, help)."""
    rows = []
    for section in dataclasses.fields(Config):
        for f in dataclasses.fields(section.default_factory()):  # type: ignore[misc]
            key = f"{section.name}.{f.name}"
            env = f"{ENV_PREFIX}{section.name}_{f.name}".upper()
            rows.append((key, env, f.default, f.metadata.get("help", "")))
    return rows


def _coerce(value: Any, default: Any, name: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            items = value if isinstance(value, (list, tuple)) else str(value).split(",")
            return tuple(str(i).strip() for i in items if str(i).strip())
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name}: cannot use {value!r} ({type(default).__name__} expected)") from exc


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> Config:
    """Build the configuration: defaults, then the TOML file, then CTI_* environment, then overrides."""
    env = os.environ if env is None else env
    data: dict[str, dict[str, Any]] = {}
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {p} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p}: {exc}") from exc
    sections = {}
    for section in dataclasses.fields(Config):
        cls = type(section.default_factory())  # type: ignore[misc]
        given = dict(data.get(section.name, {}))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(given) - known
        if unknown:
            raise ConfigError(f"config file: unknown setting(s) {', '.join(sorted(section.name + '.' + u for u in unknown))}")
        values = {}
        for f in dataclasses.fields(cls):
            key = f"{section.name}.{f.name}"
            value = given.get(f.name, f.default)
            env_name = f"{ENV_PREFIX}{section.name}_{f.name}".upper()
            if env_name in env:
                value = env[env_name]
            if overrides and key in overrides:
                value = overrides[key]
            values[f.name] = _coerce(value, f.default, key)
        sections[section.name] = cls(**values)
    config = Config(**sections)
    _validate(config)
    return config


def _validate(config: Config) -> None:
    if not (0 < config.ami.port < 65536):
        raise ConfigError(f"setting ami.port: {config.ami.port} is not a TCP port")
    if not (0 <= config.http.port < 65536):
        raise ConfigError(f"setting http.port: {config.http.port} is not a TCP port")
    if config.log.format not in ("json", "console", "auto"):
        raise ConfigError(f"setting log.format: {config.log.format!r} is not json, console or auto")
    for item in config.callcenter.wrapup_per_queue:
        queue, sep, seconds = item.partition("=")
        try:
            ok = bool(sep and queue.strip()) and float(seconds) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"setting callcenter.wrapup_per_queue: {item!r} is not queue=seconds")
    unknown_modes = set(config.supervision.show_agent_modes) - {"listen", "whisper", "barge"}
    if unknown_modes:
        raise ConfigError(f"setting supervision.show_agent_modes: {', '.join(sorted(unknown_modes))} "
                          "is not listen, whisper or barge")
    if not 5 <= config.supervision.ring_seconds <= 120:
        raise ConfigError("setting supervision.ring_seconds: must be 5 to 120")
    sv = config.supervision
    for name in ("alert_wait_seconds", "alert_busy_seconds", "alert_wrapup_seconds", "alert_check_seconds"):
        if not getattr(sv, name) > 0:
            raise ConfigError(f"setting supervision.{name}: must be more than 0 seconds")
    from ctiserver.supervision.alerts import parse_per_reason  # late: the parser lives with the alerts

    try:
        parse_per_reason(sv.alert_busy_per_reason)
    except ValueError as exc:
        raise ConfigError(f"setting supervision.alert_busy_per_reason: {exc}") from None
    wb = config.wallboard
    if not (1 <= wb.interval_minutes <= 60 and 1 <= wb.hours <= 24 and wb.refresh_seconds >= 1):
        raise ConfigError("settings wallboard.*: interval 1-60 minutes, 1-24 hours, refresh at least 1 s")
    if config.server.mode not in ("auto", "demo", "lab", "production"):
        raise ConfigError(f"setting server.mode: {config.server.mode!r} is not auto, demo, lab or production")
    if bool(config.http.tls_cert) != bool(config.http.tls_key):
        raise ConfigError("settings http.tls_cert and http.tls_key: give both (https) or neither (http)")
    if not 0 <= config.http.push_linger <= 1:
        raise ConfigError("setting http.push_linger: must be 0 to 1 second")
    if not config.server.stop_timeout > 0:
        raise ConfigError("setting server.stop_timeout: must be more than 0 seconds")
    cbc = config.callbacks
    if not (0 <= cbc.retries <= 10 and cbc.retry_seconds > 0 and 5 <= cbc.agent_ring_seconds <= 120
            and 5 <= cbc.dial_seconds <= 120):
        raise ConfigError("settings callbacks.*: retries 0-10, retry_seconds > 0, ring and dial seconds 5-120")
    if config.callcenter.wrapup_seconds < 0:
        raise ConfigError("setting callcenter.wrapup_seconds: must be 0 or more")
    if not config.callcenter.queues:
        raise ConfigError("setting callcenter.queues: at least one queue is needed")
    from ctiserver.hours import schedule  # late, as the work orders' parser below

    if not (1 <= config.ivr.pin_lockout_after <= 100 and 0 < config.ivr.pin_lockout_minutes <= 7 * 24 * 60):
        raise ConfigError("settings ivr.pin_lockout_*: 1-100 wrong PINs, more than 0 and at most a week of minutes")
    try:
        schedule.from_config(config)
        schedule.priorities(config.ivr.priorities)
    except ValueError as exc:
        raise ConfigError(f"setting {exc}") from None
    from ctiserver.workorders.settings import build  # late: the parser lives with the work orders

    try:
        build(config.workorders)
    except ValueError as exc:
        raise ConfigError(f"setting {exc}") from None
