"""`python -m services.webhooks`: run the webhook service."""

from services.common.serve import serve
from services.webhooks.app import create_app
from services.webhooks.settings import WebhookSettings

if __name__ == "__main__":
    settings = WebhookSettings()
    serve("webhooks", create_app, settings.host, settings.port, settings.log_level)
