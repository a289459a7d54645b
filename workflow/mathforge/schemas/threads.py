"""The discussion format of thread records: 'Post i:' headers, one blank line apart
(mathforge.forum.threads writes it, the forum_cot stage reads it)."""

from __future__ import annotations

import re

POST_HEADER = re.compile(r"^Post \d+:", re.MULTILINE)
