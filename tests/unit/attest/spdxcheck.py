"""SPDX documents checked by the SPDX project's own validator (spdx-tools), not by our writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document


def validation_errors(document: dict[str, Any], where: Path) -> list[str]:
    """What spdx-tools finds wrong with ``document`` (written to ``where`` as SPDX JSON): [] when valid."""
    where.write_text(json.dumps(document))
    return [e.validation_message for e in validate_full_spdx_document(parse_file(str(where)))]
