"""Rasa-side code: custom channels, NLU components and policies (bot environment)."""
