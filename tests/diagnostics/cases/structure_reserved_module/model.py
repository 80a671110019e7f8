# E@1:1: CSC112
"""Truss loads `model/model.py` as `model.model`: a user `model` module shadows it."""

GREETING = "hi"
