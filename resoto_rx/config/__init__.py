"""The config service (JSON documents with revisions, change events) and the live ``resoto.core`` binding."""

from resoto_rx.config.core import CORE_CONFIG_ID, CoreConfigBinding, CoreSettings, parse_core_config
from resoto_rx.config.service import (
    ConfigEntry,
    ConfigError,
    ConfigService,
    ConfigValidator,
    UnknownConfigError,
    merge_patch,
)

__all__ = [
    "CORE_CONFIG_ID",
    "ConfigEntry",
    "ConfigError",
    "ConfigService",
    "ConfigValidator",
    "CoreConfigBinding",
    "CoreSettings",
    "UnknownConfigError",
    "merge_patch",
    "parse_core_config",
]
