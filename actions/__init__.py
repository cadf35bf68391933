"""Custom actions of the shop assistant, served by the rasa-sdk action server.

Each feature has one module; every action reads slots and entities, calls one
domain service (see :mod:`actions.services`) and turns its typed result into
responses and events. Heavy services are built lazily on first use.
"""
