"""The settlement statement as a printable document (WeasyPrint), from the same template
the page uses."""

from __future__ import annotations

from accord.mutualaid.recovery.statement import Statement
from accord.web.pdf import render_pdf
from accord.web.templating import templates


def statement_html(document: Statement) -> str:
    return templates.get_template("mutualaid/statement_pdf.html").render(s=document, pdf=True)


def statement_pdf(document: Statement) -> bytes:
    return render_pdf(statement_html(document))
