"""The settings of one simulator instance."""

from __future__ import annotations

from dataclasses import dataclass

from .scripts import Phone


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulator instance."""

    conf_dir: str
    ami_host: str = "127.0.0.1"
    ami_port: int = 0
    username: str = "cti"
    secret: str = "cti-secret"
    timestamp_events: bool = False
    time_scale: float = 1.0
    agi_host: str | None = None  # replaces the host of AGI(agi://...) URLs when set
    agi_port: int | None = None
    default_phone: Phone = Phone(answer_after=1.0)
    # endpoints beyond pjsip.conf for load runs: PJSIP/<first>..<first+N-1>, configured as the
    # template endpoint (its context), caller id "Agent <n>" <n>; their phones are default_phone
    extra_agents: int = 0
    extra_agent_first: int = 2000
    extra_agent_template: str = "1001"
    # where MixMonitor writes a silent WAV of each recording's length (None: no file)
    monitor_dir: str | None = None
    # Asterisk's voicemail spool (<dir>/<context>/<box>/INBOX/msgNNNN.wav + .txt); None: no files
    voicemail_dir: str | None = None
    # PostgreSQL with the PJSIP realtime tables (ps_endpoints): their endpoints join pjsip.conf's
    realtime_dsn: str | None = None

    def __post_init__(self) -> None:
        if self.extra_agents < 0 or self.extra_agent_first < 0:
            raise ValueError("extra_agents and extra_agent_first must be >= 0")
