"""The demo storefront: a small shop page with the chat widget on it (``make run``)."""
