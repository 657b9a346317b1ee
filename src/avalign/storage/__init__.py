"""Plumbing: where things are kept and how they are written safely.

The config folder and the data folder (`config`), the output folders named by fingerprints
(`layout`, `fingerprint`), atomic writes (`atomic`), locks for parallel jobs (`locking`) and the
MLflow store (`tracking`). Every stage may use it; it uses no stage.
"""
