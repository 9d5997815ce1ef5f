"""`python -m services.publisher`: run the publisher."""

from services.common.serve import serve
from services.publisher.app import create_app
from services.publisher.settings import PublisherSettings

if __name__ == "__main__":
    settings = PublisherSettings()
    serve("publisher", create_app, settings.host, settings.port, settings.log_level)
