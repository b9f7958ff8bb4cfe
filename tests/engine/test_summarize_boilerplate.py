"""News pages as people paste or save them: bylines, timestamps, copyright lines and calls to action
were summary sentences and the abstractive model's first words; the splitter cut "PORTLAND, Ore.
(AP) - ..." after "Ore."; an HTML page's cookie notice and "Most read" list were read as the article
(bug hunt: "By Maria Lopez, Associated Press" and "Copyright 2024 The Associated Press." were chosen
by every TextRank variant; the headline of a bakery story was "By cookies to improve cookie policy")."""

from pathlib import Path

from engine.summarize.abstractive import source_of
from engine.summarize.document import boilerplate_lines, is_boilerplate_line, parse_document
from engine.summarize.textio import html_to_text, prepare_text
from engine.summarize.textrank import VARIANTS, summarize

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"

WIRE = """City Council Approves $2.1 Billion Budget, Raises Transit Fares

By Maria Lopez, Associated Press
Updated 6:42 PM EDT, Tue June 11, 2024

PORTLAND, Ore. (AP) \u2014 The Portland City Council voted 9-3 on Tuesday to approve a $2.1 billion \
budget for the coming fiscal year, a plan that raises bus and light-rail fares by 25 cents.

Mayor Ted Wheeler said the budget "makes hard choices without cutting core services," pointing to \
a $45 million increase for police and fire departments.

Critics, including Commissioner Carmen Rubio, argued the fare hike would hit low-income riders \
hardest.

The fare increase takes effect Sept. 1. A monthly adult pass will rise from $100 to $110.

Sign up for our newsletter
Read more: Council delays library vote

Copyright 2024 The Associated Press. All rights reserved. This material may not be published, \
broadcast, rewritten or redistributed.
"""

BOILERPLATE = ("By Maria", "Updated", "Copyright", "rights reserved", "may not be", "Sign up", "Read more")


def test_boilerplate_lines_of_a_wire_story_are_dropped():
    doc = parse_document(WIRE)
    assert doc.title == "City Council Approves $2.1 Billion Budget, Raises Transit Fares"
    assert [WIRE[s:e] for s, e in doc.dropped][:2] == [
        "By Maria Lopez, Associated Press",
        "Updated 6:42 PM EDT, Tue June 11, 2024",
    ]
    assert not any(b in s for s in doc.sentences for b in BOILERPLATE)
    assert len(doc.dropped) == 5
    assert doc.sentences[0].startswith("The Portland City Council voted 9-3")  # the dateline left out
    assert all(" ".join(WIRE[s:e].split()) == x for (s, e), x in zip(doc.spans, doc.sentences))
    for name, config in VARIANTS.items():
        s = summarize(WIRE, config, sentences=3)
        assert not any(b in x for x in s.sentences for b in BOILERPLATE), name
    # the abstractive model reads the news first, not the byline
    assert source_of(WIRE).startswith("The Portland City Council voted 9-3 on Tuesday")


def test_only_whole_short_boilerplate_lines_are_dropped():
    for line in (
        "By Jenny Park | March 3, 2024",
        "BY MARIA LOPEZ AND JOHN SMITH, ASSOCIATED PRESS",
        "Published: 10:15 BST, 3 March 2024 | Updated: 11:02 BST, 3 March 2024",
        "Posted 3 hours ago",
        "\u00a9 2024 Springfield Gazette. All rights reserved.",
        "Subscribe now for just $1 a week!",
        "Follow us on Instagram",
    ):
        assert is_boilerplate_line(line), line
    for line in (
        "By Tuesday, the council had voted.",
        "By the end of the year the fares will rise again.",
        "Published figures show inflation fell to 2% in March.",
        "Updated guidance was issued on Monday.",
        "Subscribers rose 10% last year.",
        "Sign up for the scheme closes on Friday.",
        "Read more about the plan on page 4.",
        "Copyright law is complex.",
        "March 3, 2024",
        # a boilerplate-like sentence inside a paragraph stays
        "The paper said readers should sign up for its newsletter. Copyright 2024 The Associated Press.",
    ):
        assert not is_boilerplate_line(line), line
    # in hard-wrapped prose a line that continues a sentence is never dropped
    wrapped = (
        "The council said the new fares, which were agreed after a long debate on\n"
        "Subscribe now for just $1 a week! and similar offers, would not change.\n"
        "The scheme had been running for a year before anyone noticed the gap.\n"
        "Officials said the report would be published before the end of June.\n"
    )
    assert boilerplate_lines(wrapped) == []
    # texts without such lines (like the BBC articles the summarizers are tuned on) are untouched
    for path in sorted(SAMPLES.glob("article_*.txt")):
        assert parse_document(path.read_text(encoding="utf-8")).dropped == [], path.name


def test_a_state_abbreviation_does_not_end_the_dateline_or_the_sentence():
    doc = parse_document(
        "NEW YORK, N.Y. (AP) \u2014 Stocks fell on Monday. Bonds rose.\n"
        "CHARLESTON, W.Va. -- Coal output fell. The mayor of Salem, Ore. said on Monday that fares rise.\n"
        "She moved to Salem, Ore. The next day she left. It was in Portland, Ore. (the city) again.",
        detect_title=False,
    )
    assert doc.sentences == [
        "Stocks fell on Monday.",
        "Bonds rose.",
        "Coal output fell.",
        "The mayor of Salem, Ore. said on Monday that fares rise.",
        "She moved to Salem, Ore.",
        "The next day she left.",
        "It was in Portland, Ore. (the city) again.",
    ]
    # a dateline without a state or an agency stays: "WASHINGTON \u2014" might be a heading's word
    assert parse_document("WASHINGTON \u2014 The Senate voted.").sentences == [
        "WASHINGTON \u2014 The Senate voted."
    ]


PAGE = (
    "<!DOCTYPE html><html><head><title>Local bakery wins national award - The Springfield Gazette"
    "</title><script>gtag('config','UA-1234');</script></head><body class='has-cookie-banner'>"
    "<nav><ul><li><a href='/'>Home</a></li><li><a href='/s'>Subscribe now for $1 a week!</a></li></ul></nav>"
    "<div class='cookie'>We use cookies to improve your experience. By continuing to browse you accept"
    " our cookie policy.</div><header role='banner'><p>The Springfield Gazette</p></header>"
    "<article><h1>Local bakery wins national award</h1><p class='byline'>By Jenny Park | March 3, 2024</p>"
    "<p>A family-run bakery on Main Street has been named the best small bakery in the country by the"
    " American Bakers Association.</p><div class='share-tools'><a>Share on Facebook</a></div>"
    "<p>Rosa's Bakery, opened in 1987 by Rosa and Luis Hernandez, won the award for its sourdough"
    " bread and cinnamon rolls.</p><p>The award comes with a $10,000 prize, which the family says it"
    " will use to replace an aging oven.</p><form><p>Get the morning briefing in your inbox.</p></form>"
    "<p>Lines outside the shop stretched around the block on Saturday morning.</p></article>"
    "<aside><h3>Most read</h3><ul><li>Police arrest man after downtown chase</li></ul></aside>"
    "<div id='newsletter-signup'><p>Never miss a story from the Gazette again.</p></div>"
    "<footer>&copy; 2024 Springfield Gazette. All rights reserved.</footer></body></html>"
)


def test_an_html_page_is_read_as_its_article_with_the_h1_as_title():
    text = prepare_text(PAGE)
    assert text.startswith(
        "Local bakery wins national award\n\nBy Jenny Park | March 3, 2024\n\nA family-run"
    )
    for furniture in (
        "cookie",
        "Subscribe",
        "Gazette",
        "Share on",
        "briefing",
        "Most read",
        "Police",
        "Never miss",
    ):
        assert furniture not in text.replace("By Jenny Park", ""), furniture
    assert text.endswith("Lines outside the shop stretched around the block on Saturday morning.")
    s = summarize(text, sentences=5)
    assert s.title == "Local bakery wins national award"
    assert len(s.source_sentences) == 4 and not any("Jenny Park" in x for x in s.source_sentences)
    assert source_of(text).startswith("A family-run bakery on Main Street")


def test_html_without_an_article_skips_furniture_and_takes_the_title_element():
    html = (
        "<html><head><title>The Gazette | Ferry back on Monday after repairs</title></head><body>"
        "<div role='dialog'><p>We value your privacy. Accept all?</p></div>"
        "<div><p>The ferry returns to service on Monday.</p><p class='promo'>Half-price tickets inside!"
        "<div><p>Repairs cost twice the estimate.</p></div>"
        "<section class='related-links'><p>Island school reopens.</p></section>"
        "<ul><li class='social-share'>Tweet this<li>Eight crossings a day</ul>"
        "<p>Islanders welcomed the news.</p></div></body></html>"
    )
    text = html_to_text(html)
    assert text == (
        "Ferry back on Monday after repairs\n\nThe ferry returns to service on Monday.\n\n"
        "Repairs cost twice the estimate.\n\nEight crossings a day\n\nIslanders welcomed the news."
    )
    assert summarize(text, sentences=2).title == "Ferry back on Monday after repairs"
    # an <h1> is the title when there is no <article>, and it is not repeated in the body
    assert html_to_text("<title>T</title><h1>Ferry back</h1><p>It sails.</p><p>It is late.</p>") == (
        "Ferry back\n\nIt sails.\n\nIt is late."
    )
    # an SVG icon's <title> is not the page's title
    assert html_to_text("<p>It sails.</p><p>It is <svg><title>icon</title></svg>late.</p><p>Ok.</p>") == (
        "It sails.\n\nIt is late.\n\nOk."
    )
