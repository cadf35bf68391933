"""The shop's operational commands, one entry point: ``python -m shopctl --help``.

Accounts, customers' data (export, erasure, platform links, signed ids), retention,
pricing and coupons, catalog import and the trail of a conversation's decisions. The
benchmarks and the developers' tools stay in ``scripts/``.
"""
