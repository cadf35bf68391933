"""The desk's routes, one module per resource; each ``register(app, desk)`` adds its own."""
