"""The discovery document Google's API clients build `commentanalyzer v1alpha1` from."""

from typing import Any

API = "commentanalyzer"
VERSION = "v1alpha1"


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": name}


def _map(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": value}


_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_NUMBER = {"type": "number", "format": "float"}
_INT = {"type": "integer", "format": "int32"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "TextEntry": _object({"text": _STRING, "type": {**_STRING, "enum": ["PLAIN_TEXT"]}}),
    "Context": _object(
        {"entries": {"type": "array", "items": _ref("TextEntry")}},
        "Texts the comment answers (the article, a parent comment): scored as RELEVANCE.",
    ),
    "AttributeParameters": _object(
        {"scoreType": {**_STRING, "enum": ["PROBABILITY"]}, "scoreThreshold": _NUMBER}
    ),
    "AnalyzeCommentRequest": _object(
        {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "requestedAttributes": _map(_ref("AttributeParameters")),
            "languages": _STRINGS,
            "doNotStore": {"type": "boolean"},
            "spanAnnotations": {"type": "boolean"},
            "clientToken": _STRING,
            "communityId": _STRING,
            "sessionId": _STRING,
        }
    ),
    "Score": _object({"value": _NUMBER, "type": {**_STRING, "enum": ["PROBABILITY"]}}),
    "SpanScore": _object({"begin": _INT, "end": _INT, "score": _ref("Score")}),
    "AttributeScores": _object(
        {
            "summaryScore": _ref("Score"),
            "spanScores": {"type": "array", "items": _ref("SpanScore")},
        }
    ),
    "AnalyzeCommentResponse": _object(
        {
            "attributeScores": _map(_ref("AttributeScores")),
            "languages": _STRINGS,
            "detectedLanguages": _STRINGS,
            "clientToken": _STRING,
        }
    ),
    "SuggestCommentScoreRequest": _object(
        {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "attributeScores": _map(_ref("AttributeScores")),
            "languages": _STRINGS,
            "communityId": _STRING,
            "clientToken": _STRING,
        }
    ),
    "SuggestCommentScoreResponse": _object(
        {"detectedLanguages": _STRINGS, "requestedLanguages": _STRINGS, "clientToken": _STRING}
    ),
}

_QUERY = {"type": "string", "location": "query"}
PARAMETERS = {
    "key": {**_QUERY, "description": "API key (`modctl keys create TENANT --scopes analyze`)."},
    "alt": {**_QUERY, "enum": ["json"], "default": "json"},
    "fields": _QUERY,
    "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
    "quotaUser": _QUERY,
}


def _method(name: str, request: str, response: str) -> dict[str, Any]:
    path = f"{VERSION}/comments:{name}"
    return {
        "id": f"{API}.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
    }


def document(root_url: str) -> dict[str, Any]:
    """`root_url` is this server as the client reached it, ending with `/`."""
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"{API}:{VERSION}",
        "name": API,
        "version": VERSION,
        "title": "Perspective Comment Analyzer API (compatible)",
        "description": "Toxicity scores from a self-hosted comment moderation service.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": PARAMETERS,
        "schemas": {name: {"id": name, **schema} for name, schema in SCHEMAS.items()},
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze", "AnalyzeCommentRequest", "AnalyzeCommentResponse"
                    ),
                    "suggestscore": _method(
                        "suggestscore", "SuggestCommentScoreRequest", "SuggestCommentScoreResponse"
                    ),
                }
            }
        },
    }
