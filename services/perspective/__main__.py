"""`python -m services.perspective`: run the Perspective-compatible API."""

from services.common.serve import serve
from services.perspective.app import create_app
from services.perspective.settings import PerspectiveSettings

if __name__ == "__main__":
    settings = PerspectiveSettings()
    serve("perspective", create_app, settings.host, settings.port, settings.log_level)
