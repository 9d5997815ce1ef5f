from pathlib import Path

import pytest

from services.modctl.seed import comment_id, parse_seed

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "000_c2484b3214b686ee.txt"


def test_demo_file_has_an_article_and_nine_comments() -> None:
    article = parse_seed(DEMO.read_text(encoding="utf-8"))
    assert article.title.startswith("U.S. Defense Secretary Visits NATO")
    assert len(article.paragraphs) == 10
    assert [c.author for c in article.comments][:2] == ["Bella Ciao", "Katchuka"]
    assert article.comments[0].body.startswith("This approach sidelines")
    assert not article.comments[0].body.endswith("\u201d")


def test_apostrophes_inside_a_comment_are_kept() -> None:
    article = parse_seed("Title\nBody\n1 Comments\nAnn\n\u201cIt\u2019s fine\u201d\n")
    assert article.comments[0].body == "It\u2019s fine"


def test_comment_ids_are_stable_so_reseeding_is_idempotent() -> None:
    first = parse_seed(DEMO.read_text(encoding="utf-8"))
    second = parse_seed(DEMO.read_text(encoding="utf-8"))
    assert [comment_id(first.article_id, c) for c in first.comments] == [
        comment_id(second.article_id, c) for c in second.comments
    ]


def test_file_without_comments_header_is_refused() -> None:
    with pytest.raises(ValueError, match="Comments"):
        parse_seed("Title\nParagraph\n")
