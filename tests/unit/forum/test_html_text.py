"""html_to_text: Stack Exchange post HTML -> plain text that keeps the LaTeX source exactly."""

from __future__ import annotations

import pytest

from mathforge.forum.html_text import html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>If $a &lt; b$ then $b &gt; a$.</p>", "If $a < b$ then $b > a$."),
        ("<p>$x &amp; y$ and $$\\{ n : n &lt;= 3 \\}$$</p>", "$x & y$ and $$\\{ n : n <= 3 \\}$$"),
        ("<p>numeric &#60; and hex &#x3E; refs</p>", "numeric < and hex > refs"),
        ("<p>&quot;quoted&quot; &#39;single&#39;</p>", "\"quoted\" 'single'"),
        ('<span class="math-container">$\\alpha_{i} &lt; 1$</span>', "$\\alpha_{i} < 1$"),
    ],
)
def test_entities_are_unescaped_and_latex_kept(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_latex_backslashes_and_braces_survive_verbatim() -> None:
    latex = r"$$\int_0^1 \frac{\sin x}{x}\,dx \quad \text{and} \quad \left\{ x \right\}$$"
    assert html_to_text(f"<p>{latex}</p>") == latex


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    html = "<p>First para.</p>\n\n\n<p>Second para.</p>\n<p>Third.</p>"
    assert html_to_text(html) == "First para.\n\nSecond para.\n\nThird."


def test_whitespace_inside_a_paragraph_is_collapsed() -> None:
    assert html_to_text("<p>a   b\n   c\t d</p>") == "a b c d"


def test_inline_markup_is_dropped_but_its_text_kept() -> None:
    html = '<p>Read <em>Categories</em> by <strong>Mac Lane</strong>, <a href="https://x.org">here</a>.</p>'
    assert html_to_text(html) == "Read Categories by Mac Lane, here."


def test_unordered_list() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "- one\n- two"


def test_ordered_list_is_numbered() -> None:
    assert html_to_text("<ol><li>one</li><li>two</li><li>three</li></ol>") == "1. one\n2. two\n3. three"


def test_each_ordered_list_restarts_numbering() -> None:
    html = "<ol><li>a</li><li>b</li></ol><p>between</p><ol><li>c</li></ol>"
    assert html_to_text(html) == "1. a\n2. b\n\nbetween\n\n1. c"


def test_nested_unordered_list_inside_ordered_list_keeps_outer_counter() -> None:
    html = "<ol><li>a<ul><li>x</li><li>y</li></ul></li><li>b</li></ol>"
    assert html_to_text(html) == "1. a\n\n- x\n- y\n\n2. b"


def test_list_items_wrapping_paragraphs_keep_the_marker_on_the_text_line() -> None:
    # Stack Exchange renders "loose" Markdown lists as <li><p>...</p></li>.
    html = "<ol>\n<li><p>first</p>\n<p>more</p></li>\n<li><p>second</p></li>\n</ol>\n<p>after</p>"
    assert html_to_text(html) == "1. first\n\nmore\n\n2. second\n\nafter"


def test_empty_list_item_does_not_swallow_the_next_marker() -> None:
    assert html_to_text("<ul><li></li><li>b</li></ul>") == "-\n- b"
    assert html_to_text("<ul><li><img alt='pic'></li><li>b</li></ul>") == "- [pic]\n- b"


def test_pre_code_block_is_fenced_and_keeps_indentation_and_newlines() -> None:
    html = "<p>Code:</p><pre><code>def f(x):\n    return x &lt; 2</code></pre><p>done</p>"
    assert html_to_text(html) == "Code:\n\n```\ndef f(x):\n    return x < 2\n```\n\ndone"


def test_pre_block_does_not_collapse_internal_spaces() -> None:
    text = html_to_text("<pre><code>a      b\n  c</code></pre>")
    assert "a      b\n  c" in text


def test_inline_code_gets_backticks() -> None:
    assert html_to_text("<p>Use <code>a &lt; b</code> here</p>") == "Use `a < b` here"


def test_blockquote_lines_are_prefixed_and_no_stray_markers() -> None:
    html = "<blockquote><p>quoted line</p><p>second</p></blockquote><p>after</p>"
    text = html_to_text(html)
    assert text == "> quoted line\n\n> second\n\nafter"
    assert not any(line.strip() == ">" for line in text.split("\n"))


def test_nested_blockquote() -> None:
    assert html_to_text("<blockquote>outer<blockquote>inner</blockquote></blockquote>") == (
        "> outer\n\n> > inner"
    )


def test_code_block_inside_blockquote_is_quoted_line_by_line() -> None:
    assert html_to_text("<blockquote><pre><code>a\nb</code></pre></blockquote>") == "> ```\n> a\n> b\n> ```"


@pytest.mark.parametrize("br", ["<br>", "<br/>", "<br />"])
def test_br_is_a_line_break(br: str) -> None:
    assert html_to_text(f"<p>line1{br}line2</p>") == "line1\nline2"


def test_images_become_alt_text_or_placeholder() -> None:
    html = '<p><img src="x.png" alt="diagram of $K_4$"> and <img src="y.png"></p>'
    assert html_to_text(html) == "[diagram of $K_4$] and [image]"


def test_horizontal_rule_and_headings() -> None:
    assert html_to_text("<h2>Title</h2><p>text</p><hr><p>end</p>") == "Title\n\ntext\n\n---\n\nend"


def test_table_cells_are_separated() -> None:
    assert html_to_text("<table><tr><td>1</td><td>2</td></tr></table>") == "| 1 | 2"


def test_plain_text_and_empty_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("just text") == "just text"
    assert html_to_text("  <p>  </p>  ") == ""


def test_unclosed_tags_do_not_lose_text() -> None:
    assert html_to_text("<p>unclosed <em>emphasis") == "unclosed emphasis"


def test_no_triple_newlines_and_no_trailing_spaces() -> None:
    html = "<div><p>a</p></div><div></div><p>b </p><blockquote><p>c</p></blockquote><ul><li>d</li></ul>"
    text = html_to_text(html)
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in text.split("\n"))
    assert text == "a\n\nb\n\n> c\n\n- d"
