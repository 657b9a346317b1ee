"""Plumbing: how work runs over many files.

Worker processes with a progress bar (`parallel`), bad inputs collected into one report per
stage, never stopping a batch (`failures`), a deterministic split of a batch over machines
(`shards`), and JSON reports written as items finish and resumed on a rerun (`resume`). Every
stage may use it; it uses no stage.
"""
