"""peacetalks: where each party to the Ukraine peace talks stands on each term of a settlement."""

__version__ = "0.1.0"
