"""``python -m avalign.detect``: check video files (the work: `avalign.detection.check`)."""

from avalign.detection.check import main

if __name__ == "__main__":
    main()
