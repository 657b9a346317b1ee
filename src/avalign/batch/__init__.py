"""Plumbing: how work runs over many files.

Worker processes with a progress bar (`parallel`) and bad inputs collected into one report per
stage, never stopping a batch (`failures`). Every stage may use it; it uses no stage.
"""
