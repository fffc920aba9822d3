"""Figures: image grids (reconstructions, samples; written as PNG files and handed to the
loggers, :mod:`~zoo.figures.grids`) and attention maps (:mod:`~zoo.figures.attention`).

May import: zoo.errors, zoo.models.
"""
