"""Stage 6: re-syncing files.

What to do with a verdict, refusals and batches (`resync`), and how the sound is moved with every
other stream copied (`retime`).
"""
