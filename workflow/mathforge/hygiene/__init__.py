"""Data hygiene checks shared by stages: is an extracted problem faithful to its forum post
(`faithful`), does a problem's text state its own answer (`statement`)? Deterministic, no model.
"""
