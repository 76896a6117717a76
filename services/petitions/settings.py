"""Configuration the entrypoints need: time limits, rate limits, the timer interval."""

from dataclasses import dataclass

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.petitions.domain import Rules


@dataclass(frozen=True)
class RateLimits:
    intake: int = 5
    receipt: int = 60
    window_seconds: int = 3600

    @classmethod
    def from_config(cls, config: dict) -> "RateLimits":
        values = config.get("RATE_LIMIT") or {}
        return cls(**{k: int(v) for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PetitionSettings:
    rules: Rules
    rates: RateLimits


class Settings(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.settings = PetitionSettings(Rules.from_config(config), RateLimits.from_config(config))

    def get_dependency(self, worker_ctx):
        return self.settings


class ConfiguredTimer(Timer):
    """``@timer`` whose interval comes from config ``TIMERS.interval`` (seconds)."""

    def __init__(self, default_interval: float = 300, **kwargs):
        super().__init__(interval=default_interval, **kwargs)

    def setup(self):
        timers = self.container.config.get("TIMERS") or {}
        self.interval = float(timers.get("interval", self.interval))
        super().setup()


timer = ConfiguredTimer.decorator
