"""The briefing as a Word document (python-docx), for advisers who paste it into their own notes.

The same gathered `Briefing` as the PDF, in the same order and with the same citation numbers:
title and lead, the facts, the bottom line (the summary's own lines), what changed, the matrix
as a table (header row repeated on each page), the texts on the table, each issue's stances
with their key quotes, and the numbered sources. Only this module knows the library.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.models import Issue, Party, Quote
from app.services.briefing import Briefing, PartyStance, responses_shown
from app.services.briefing_summary import summary_blocks
from app.services.briefing_texts import reaction_words
from app.templating import format_day, stance_label

WORDS = {"accepts": "Accepts", "conditional": "Cond.", "ambiguous": "Unclear", "rejects": "Rejects"}
AGREEMENT = {"deal": "Deal zone", "apart": "Apart", "mixed": "Mixed", "unknown": "Gaps"}


def render_docx(briefing: Briefing) -> bytes:
    """The briefing as the bytes of a .docx file."""
    doc = Document()
    props = doc.core_properties
    props.title = briefing.title
    props.language = "en"
    props.author = "peacetalks"
    props.created = briefing.generated_at.replace(tzinfo=None)
    request = briefing.request
    doc.add_heading(briefing.title, level=0)
    for paragraph in request.lead_paragraphs:
        doc.add_paragraph(paragraph)
    _facts(doc, briefing)
    if request.shows("summary"):
        doc.add_heading("Bottom line", level=1)
        for block in summary_blocks(briefing):
            doc.add_heading(block.heading, level=2)
            for line in block.lines:
                item = doc.add_paragraph(style="List Bullet")
                for part in line:
                    if part.issue is not None:
                        item.add_run(part.issue.title)
                    elif part.quote is not None:
                        item.add_run(f"[{briefing.cite(part.quote)}]")
                    else:
                        item.add_run(part.text).bold = part.strong
            if block.more:
                doc.add_paragraph(block.more, style="List Bullet")
            if not block.lines:
                doc.add_paragraph(block.empty)
    if request.since is not None and request.shows("changes"):
        _changes(doc, briefing)
    if request.shows("matrix"):
        _matrix(doc, briefing)
    if request.shows("texts"):
        _texts(doc, briefing)
    if request.shows("issues"):
        _issues(doc, briefing)
    _sources(doc, briefing)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _facts(doc: DocxDocument, briefing: Briefing) -> None:
    request, grid = briefing.request, briefing.matrix
    dates = format_day(request.as_of)
    if request.since:
        dates += f"; changes since {request.since_words}"
    if request.known_on:
        dates += f"; as we knew it on {format_day(request.known_on)}"
    generated = briefing.generated_at
    permalink = briefing.permalink
    if briefing.permalink_is_path:
        permalink += (
            " (a path on the site that made this briefing: its public address is not "
            "configured, PUBLIC_URL)"
        )
    rows = [
        ("As of", dates),
        ("Generated", f"{format_day(generated.date())}, {generated:%H:%M} UTC"),
        ("Parties", ", ".join(p.name for p in grid.parties)),
        ("Issues", ", ".join(i.title for i in grid.issues)),
        ("Permalink", permalink),
    ]
    for label, value in rows:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{label}: ").bold = True
        paragraph.add_run(value)


def _changes(doc: DocxDocument, briefing: Briefing) -> None:
    request = briefing.request
    as_of = format_day(request.as_of)
    if request.since_round:
        heading = f"What changed since {request.since_words}, up to {as_of}"
    else:
        heading = f"What changed between {format_day(request.since)} and {as_of}"
    doc.add_heading(heading, level=1)
    if not briefing.changes:
        doc.add_paragraph("No party changed its stance on any of these issues in this period.")
    for item in briefing.changes:
        change = item.change
        old = stance_label(change.old_stance) if change.old_stance else "No recorded position"
        head = doc.add_paragraph()
        head.add_run(f"{format_day(change.effective_from)} ")
        head.add_run(f"{item.party.name} on {item.issue.title}").bold = True
        head.add_run(f": {old} → {stance_label(change.new_stance)}")
        if change.rationale:
            doc.add_paragraph(change.rationale)
        if item.quoted_below and item.quote is not None:
            quote = item.quote  # printed in the issue's section: said once
            doc.add_paragraph(
                f"Evidence: {_who(quote)}, {format_day(quote.said_on)} · {quote.status.value} · "
                f"quoted under {item.issue.title} [{briefing.cite(quote)}]"
            )
        elif item.quote is not None:
            _quote(doc, briefing, item.quote)


def _matrix(doc: DocxDocument, briefing: Briefing) -> None:
    grid = briefing.matrix
    doc.add_heading(f"Who accepts what, as of {format_day(briefing.request.as_of)}", level=1)
    doc.add_paragraph(
        "Each cell: the party's stance on the issue's proposition; ? only reported, "
        "✕ denied, ◷ stale, ◐ members differ, Δ changed since the changes date."
    )
    for group in briefing.matrix_tables():
        table = doc.add_table(rows=1, cols=len(group) + 1)
        table.style = "Table Grid"
        header = table.rows[0].cells
        header[0].text = "Party"
        for n, issue in enumerate(group, start=1):
            header[n].text = issue.title
        _repeat_header(table)
        for party in grid.parties:
            row = table.add_row().cells
            row[0].text = party.name
            for n, issue in enumerate(group, start=1):
                row[n].text = _cell_words(briefing, party, issue)
        row = table.add_row().cells
        row[0].text = "Agreement"
        for n, issue in enumerate(group, start=1):
            row[n].text = AGREEMENT[briefing.agreement(issue)]
        _small(table)
        doc.add_paragraph()


def _texts(doc: DocxDocument, briefing: Briefing) -> None:
    doc.add_heading(f"Texts on the table, as of {format_day(briefing.request.as_of)}", level=1)
    if not briefing.texts:
        doc.add_paragraph("No text tabled by then bears on these issues.")
    for text in briefing.texts:
        document = text.document
        doc.add_heading(f"{document.title} ({text.status})", level=2)
        meta = f"{document.kind.value.replace('_', ' ').capitalize()} tabled "
        meta += format_day(document.tabled_on)
        if text.authors:
            meta += " by " + ", ".join(p.name for p in text.authors)
        if text.endorsers:
            meta += ", endorsed by " + ", ".join(p.name for p in text.endorsers)
        meta += f"; {text.points} point{'s' if text.points != 1 else ''}; text "
        meta += document.confirmation.value + (", a translation" if document.is_translation else "")
        doc.add_paragraph(f"{meta} [{briefing.cite_source(document.source_id)}]")
        if text.predecessor is None:
            doc.add_paragraph("An original text (it derives from no earlier one).")
        else:
            was = f"{text.predecessor.title} ({format_day(text.predecessor.tabled_on)})"
            doc.add_paragraph().add_run(f"Changes from {was}: {text.counts}.").bold = True
            for change in text.changed_shown:
                item = doc.add_paragraph(style="List Bullet")
                item.add_run(change.heading).bold = True
                item.add_run(f": {change.words}")
            hidden = len(text.changed) - len(text.changed_shown)
            if hidden:
                doc.add_paragraph(f"and {hidden} more changed points", style="List Bullet")
            if text.new:
                doc.add_paragraph(
                    f"New: point{'s' if len(text.new) > 1 else ''} {', '.join(text.new)}."
                )
            if text.removed:
                plural = "s" if len(text.removed) > 1 else ""
                labels = ", ".join(text.removed)
                doc.add_paragraph(f"Removed: point{plural} {labels} of the earlier text.")
        if not text.reactions:
            doc.add_paragraph("No reaction of the parties shown is recorded.")
        for group in text.reactions:
            item = doc.add_paragraph(style="List Bullet")
            item.add_run(f"{group.party.name}: ").bold = True
            said = []
            for reaction, label in group.reactions:
                quote = reaction.quote
                who = f", {quote.speaker.name}" if quote.speaker else ""
                status = f", {quote.status.value}" if quote.status.value != "confirmed" else ""
                words = quote.text if len(quote.text) <= 160 else quote.text[:157] + "..."
                said.append(
                    f"{reaction_words(reaction, label)} ({format_day(quote.said_on)}{who}{status}:"
                    f" “{words}”) [{briefing.cite(quote)}]"
                )
            more = f"; and {group.more} earlier" if group.more else ""
            item.add_run("; ".join(said) + more + ".")


def _cell_words(briefing: Briefing, party: Party, issue: Issue) -> str:
    cell = briefing.matrix.cell(party, issue)
    if cell is None:
        return "—"
    if cell.state == "split":
        words = "Split"
    elif cell.stance is None:
        return f"{cell.unassessed} q."
    else:
        words = WORDS[cell.stance.value]
    marks = {"denied": "✕", "unconfirmed": "?"}.get(cell.confirmation or "", "")
    marks += "◷" if cell.stale else ""
    marks += "Δ" if briefing.matrix.has_changed(party, issue) else ""
    return f"{words} {marks}".strip()


def _repeat_header(table: Table) -> None:
    # Word repeats a row marked as a header at the top of each page the table runs onto.
    properties = table.rows[0]._tr.get_or_add_trPr()
    mark = OxmlElement("w:tblHeader")
    mark.set(qn("w:val"), "true")
    properties.append(mark)


def _small(table: Table) -> None:
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(7)


def _issues(doc: DocxDocument, briefing: Briefing) -> None:
    for section in briefing.sections:
        doc.add_heading(section.issue.title, level=1)
        doc.add_paragraph(f"Proposition: “{section.issue.proposition}”").runs[0].italic = True
        if section.issue.description:
            doc.add_paragraph(section.issue.description)
        for stance in section.stances:
            _stance(doc, briefing, stance)
        if section.silent and briefing.request.shows("no_position"):
            names = ", ".join(p.name for p in section.silent)
            doc.add_paragraph(f"No recorded position: {names}.")


def _stance(doc: DocxDocument, briefing: Briefing, stance: PartyStance) -> None:
    cell = stance.cell
    assert cell is not None  # noqa: S101 - a section's stances all have a cell
    if cell.stance is not None:
        words = stance_label(cell.stance)
    elif cell.state == "split":
        words = "Split"
    else:
        words = f"{cell.unassessed} quotes, not assessed"
    markers = []
    if cell.assessed and cell.confirmation in ("unconfirmed", "denied"):
        markers.append(cell.confirmation or "")
    if cell.assessed and cell.stale:
        markers.append("stale")
    if stance.changed:
        markers.append("changed")
    head = f"{stance.party.name}: {words}" + (f" ({', '.join(markers)})" if markers else "")
    doc.add_heading(head, level=3)
    if cell.assessed:
        meta = f"Since {format_day(cell.since)}"
        if cell.restated_on:
            meta += f" (restated {format_day(cell.restated_on)})"
        if cell.condition:
            meta += f" · Condition: {cell.condition}"
        doc.add_paragraph(meta)
    if stance.split:
        members = "; ".join(f"{m.name} {stance_label(s).lower()}" for m, s in stance.split)
        doc.add_paragraph(f"Members: {members}.")
    if stance.position is not None:
        doc.add_paragraph(stance.position.rationale)
    for quote in stance.quotes:
        _quote(doc, briefing, quote)


def _who(quote: Quote) -> str:
    """Who said a quote, with the role held when it was said, as in the PDF."""
    if quote.speaker is None:
        return f"{quote.party.name} (no named speaker)"
    return f"{quote.speaker.name}, {quote.role_then}" if quote.role_then else quote.speaker.name


def _quote(doc: DocxDocument, briefing: Briefing, quote: Quote) -> Paragraph:
    text = f"“{quote.text}”" if quote.kind.value == "direct" else quote.text
    paragraph = doc.add_paragraph(style="Quote")
    paragraph.add_run(text)
    paragraph.add_run(
        f" — {_who(quote)} · {format_day(quote.said_on)} · {quote.status.value} [{briefing.cite(quote)}]"
    )
    for response in responses_shown(quote, as_of=briefing.request.as_of):
        verb = {"denied": "Denied", "confirmed": "Confirmed"}.get(quote.status.value, "Answered")
        by = response.speaker.name if response.speaker else response.party.name
        doc.add_paragraph(
            f"{verb} by {by}, {format_day(response.said_on)}: “{response.text[:200]}” "
            f"[{briefing.cite(response)}]"
        )
    return paragraph


def _sources(doc: DocxDocument, briefing: Briefing) -> None:
    doc.add_heading("Sources", level=1)
    if not briefing.sources:
        doc.add_paragraph("No quotes are cited in this briefing.")
    for number, source in enumerate(briefing.sources, start=1):
        published = f", {format_day(source.published_on)}" if source.published_on else ""
        kind = source.kind.value.replace("_", " ").capitalize()
        tier = source.tier.value.replace("_", " ")
        doc.add_paragraph(
            f"[{number}] {source.outlet}. “{source.title}”{published}. {kind}; {tier}. {source.url}"
        )
