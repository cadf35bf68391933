"""Rasa-side code: custom channels, NLU components and policies (bot environment).

Importing this package (Rasa does, to load the channel and components named in
``bot/credentials.yml`` and ``config.yml``) installs the performance fixes in
:mod:`bot.patches`.
"""

from bot import patches

patches.apply()
