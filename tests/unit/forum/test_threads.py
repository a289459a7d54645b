"""Thread text clean-up: AoPS quote removal, the 'Post i:' format, and discussion truncation."""

from __future__ import annotations

import pytest

from mathforge.forum.threads import (
    THREAD_SCHEMA,
    Thread,
    join_posts,
    normalize_newlines,
    remove_quotes,
    truncate_discussion,
)


class TestRemoveQuotes:
    def test_simple_quote_is_removed(self) -> None:
        assert remove_quotes("before [quote]old text[/quote] after") == "before  after"

    def test_named_quote_is_removed(self) -> None:
        assert remove_quotes("a [quote=Bob the Builder]x[/quote] b") == "a  b"

    def test_nested_quotes_are_removed_entirely(self) -> None:
        text = "keep1 [quote=Alice]outer [quote]inner[/quote] still outer[/quote] keep2"
        assert remove_quotes(text) == "keep1  keep2"

    def test_tags_are_case_insensitive(self) -> None:
        assert remove_quotes("a [QUOTE]x[/Quote] b") == "a  b"

    def test_several_quotes_in_a_row(self) -> None:
        assert remove_quotes("[quote]1[/quote]A[quote=z]2[/quote]B") == "AB"

    def test_unclosed_quote_keeps_its_text_and_drops_the_tag(self) -> None:
        assert remove_quotes("answer first [quote]quoted forever") == "answer first quoted forever"

    def test_reopened_instead_of_closed_quote_keeps_the_reply(self) -> None:
        # A real AoPS pattern (aops_sample line 8): '[quote]...[quote]' used as open/close.
        assert (
            remove_quotes("Post 2:\n[quote]problem [quote]\nmy solution") == "Post 2:\nproblem \nmy solution"
        )

    def test_matched_quote_before_an_unmatched_one_is_removed(self) -> None:
        assert remove_quotes("[quote]a[/quote]b [quote]c") == "b c"

    def test_stray_closing_tag_is_dropped_and_text_kept(self) -> None:
        assert remove_quotes("a [/quote] b") == "a  b"

    def test_text_without_quotes_is_unchanged(self) -> None:
        text = "No quotes here: $[a,b]$ and [b]bold[/b] and [quotes] are not tags."
        assert remove_quotes(text) == text

    def test_empty(self) -> None:
        assert remove_quotes("") == ""


def test_join_posts_reference_format() -> None:
    assert join_posts(["  first\n", "second"]) == "Post 1:\nfirst\n\nPost 2:\nsecond"


def test_join_posts_empty() -> None:
    assert join_posts([]) == ""


def test_join_posts_numbers_from_one() -> None:
    text = join_posts([f"p{i}" for i in range(12)])
    assert text.startswith("Post 1:\np0")
    assert text.endswith("Post 12:\np11")
    assert text.count("\n\nPost ") == 11


class TestTruncateDiscussion:
    TEXT = join_posts(["a" * 10, "b" * 10, "c" * 10])  # 58 characters

    def test_short_text_is_unchanged(self) -> None:
        assert truncate_discussion(self.TEXT, len(self.TEXT)) == (self.TEXT, False)
        assert truncate_discussion(self.TEXT, 1000) == (self.TEXT, False)

    def test_zero_means_no_limit(self) -> None:
        assert truncate_discussion(self.TEXT, 0) == (self.TEXT, False)

    def test_cut_at_the_last_post_boundary_before_the_limit(self) -> None:
        # the limit falls inside post 3: posts 1-2 are kept whole, post 3 dropped entirely
        text, truncated = truncate_discussion(self.TEXT, len(self.TEXT) - 3)
        assert truncated is True
        assert text == "Post 1:\n" + "a" * 10 + "\n\nPost 2:\n" + "b" * 10

    def test_cut_inside_post_two_keeps_only_post_one(self) -> None:
        text, truncated = truncate_discussion(self.TEXT, 30)
        assert (text, truncated) == ("Post 1:\n" + "a" * 10, True)

    def test_without_a_boundary_cuts_at_the_limit(self) -> None:
        text, truncated = truncate_discussion("Post 1:\n" + "x" * 100, 20)
        assert truncated is True
        assert text == ("Post 1:\n" + "x" * 100)[:20]

    def test_result_never_exceeds_the_limit(self) -> None:
        posts = join_posts([("word " * n).strip() for n in range(1, 30)])
        for limit in (1, 7, 50, 123, 400, len(posts) - 1):
            text, truncated = truncate_discussion(posts, limit)
            assert truncated is True
            assert len(text) <= limit
            assert posts.startswith(text)


def test_normalize_newlines() -> None:
    assert normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


def test_thread_record_matches_schema_and_has_uid() -> None:
    thread = Thread(
        source="aops",
        site="artofproblemsolving.com",
        thread_id="42",
        post_id="42",
        title="",
        forum_post="p",
        forum_discussions="",
        n_discussion_posts=0,
        license="unknown",
        source_file="f.jsonl",
        source_record="line 1",
    )
    record = thread.to_record()
    assert record["thread_uid"] == "aops:42"
    assert (record["truncated"], record["authors"], record["source_url"]) == ([], [], None)
    assert set(record) == set(THREAD_SCHEMA.names)


@pytest.mark.parametrize("limit", [-1, -100])
def test_negative_limit_means_no_limit(limit: int) -> None:
    assert truncate_discussion("Post 1:\nabc", limit) == ("Post 1:\nabc", False)
