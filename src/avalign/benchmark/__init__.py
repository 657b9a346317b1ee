"""The benchmark: real development clips and synthetic clips measured with the field's protocol.

`manifest` and `clips` describe, build and verify the real clips (facts only are packaged, never
media); the other modules cut windows, split folds by source video, run every detector and report
the figures with bootstrap intervals.
"""
