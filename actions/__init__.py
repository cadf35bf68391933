"""Custom actions of the shop assistant, served by the rasa-sdk action server.

Each feature has one module; every action reads slots and entities, calls one
domain service (see :mod:`actions.services`) and turns its typed result into
responses and events. Heavy services are built lazily on first use.
"""

from actions.settings import settings as _settings

# The action server refuses to start on invalid configuration (a negative margin,
# an unknown setting value): SettingsError names the variable and what is wrong.
_settings()
