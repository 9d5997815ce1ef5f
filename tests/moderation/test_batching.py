"""Forward passes cut by padded tokens: short comments together, long ones apart."""

from services.moderation.scoring.batching import token_groups


def test_groups_are_sorted_by_length_and_capped_by_padded_tokens() -> None:
    lengths = [300, 10, 12, 11, 250, 9]
    groups = token_groups(lengths, budget=512, most=32)
    assert [i for group in groups for i in group] == [5, 1, 3, 2, 4, 0]
    assert groups == [[5, 1, 3, 2], [4], [0]]  # 250 + 300 padded to 300 would be 600 tokens
    for group in groups:
        assert len(group) == 1 or len(group) * max(lengths[i] for i in group) <= 512


def test_groups_hold_at_most_the_cap_and_every_index_once() -> None:
    groups = token_groups([5] * 70, budget=10_000, most=32)
    assert [len(g) for g in groups] == [32, 32, 6]
    assert sorted(i for g in groups for i in g) == list(range(70))
    assert token_groups([]) == []
