"""An existing cluster's SASL/TLS settings reach every Kafka client the services create."""

import asyncio
import ssl
from pathlib import Path
from typing import Any

import aiokafka
import certifi
import pytest

from services.common.broker import create_broker
from services.common.settings import KafkaSettings


class Captured(Exception):
    """Raised by the stand-in producer, carrying the keyword arguments it was given."""


def producer_options(settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the broker passes to aiokafka's producer when it connects."""

    def capture(**options: Any) -> None:
        raise Captured(options)

    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", capture)
    broker = create_broker(settings, client_id="test")
    with pytest.raises(Captured) as caught:
        asyncio.run(broker.connect())
    options: dict[str, Any] = caught.value.args[0]
    return options


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert KafkaSettings().client_options() == {}
    options = producer_options(KafkaSettings(), monkeypatch)
    assert options.get("security_protocol", "PLAINTEXT") == "PLAINTEXT"
    assert options.get("sasl_mechanism") is None


def test_sasl_scram_over_tls_reaches_the_producer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "moderation")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", certifi.where())
    settings = KafkaSettings()
    assert "s3cret" not in repr(settings)
    for options in (producer_options(settings, monkeypatch), settings.client_options()):
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "moderation"
        assert options["sasl_plain_password"] == "s3cret"
        context = options["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname


def test_sasl_plain_without_tls_has_no_ssl_context() -> None:
    options = KafkaSettings(
        security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p"
    ).client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "PLAIN"
    assert options["ssl_context"] is None


def test_tls_only_uses_the_given_ca(tmp_path: Path) -> None:
    options = KafkaSettings(
        security_protocol="SSL", ssl_cafile=Path(certifi.where())
    ).client_options()
    assert options["security_protocol"] == "SSL"
    assert options["ssl_context"].cert_store_stats()["x509_ca"] > 0
    with pytest.raises(FileNotFoundError):
        KafkaSettings(security_protocol="SSL", ssl_cafile=tmp_path / "missing.pem").client_options()
