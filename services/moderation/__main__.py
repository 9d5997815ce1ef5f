"""`python -m services.moderation`: run the moderation worker."""

from services.common.serve import serve
from services.moderation.app import create_app
from services.moderation.settings import ModerationSettings

if __name__ == "__main__":
    settings = ModerationSettings()
    serve("moderation", create_app, settings.host, settings.port, settings.log_level)
