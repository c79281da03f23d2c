"""Parsing what users send, in one place: field types and parsing (`fields`), every form's
input model (`inputs`, and `documents` for the document, round and reaction forms), the one form dependency, version parsing and choice labels.

Import from `app.forms`; the two modules split it only by size."""

from app.forms.documents import *  # noqa: F403
from app.forms.documents import __all__ as _documents
from app.forms.fields import *  # noqa: F403
from app.forms.fields import __all__ as _fields
from app.forms.inputs import *  # noqa: F403
from app.forms.inputs import __all__ as _inputs

__all__ = [*_fields, *_inputs, *_documents]
