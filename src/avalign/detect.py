"""``python -m avalign.detect``: check video files (the command: `avalign.detection.command`)."""

from avalign.detection.command import main

if __name__ == "__main__":
    main()
