"""``python -m avalign.fix``: re-sync a copy of a video (the work: `avalign.fixing.resync`)."""

from avalign.fixing.resync import main

if __name__ == "__main__":
    main()
