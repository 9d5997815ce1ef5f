"""The moderators' desk: accounts, sessions, the review queue, decisions and live updates."""
