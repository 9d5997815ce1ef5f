"""`python -m services.ingest`: run the ingest API."""

from services.common.serve import serve
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings

if __name__ == "__main__":
    settings = IngestSettings()
    serve("ingest", create_app, settings.host, settings.port, settings.log_level)
