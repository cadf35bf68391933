"""Visual product lookup (a customer's photo finds the product).

Not built yet: issue #6 fills this package.
"""
