"""Adapters that turn public datasets into catalog files the importer reads."""
