"""`sft/hygiene.json` and its table (for the dataset card and the run report): per variant, the
rows checked, the rows failing each check, and the rows shipped; and the second pass over the
rows read back from the written shards."""

from __future__ import annotations

from collections import Counter

from mathforge.hygiene.audit import CHECKS, AuditResult, RowCheck

STEP = "sft_hygiene"  # names the audit report (in hygiene.json and write_sft_shards' summary notes)


def _table(counts: Counter, checks: tuple[RowCheck, ...]) -> dict:
    failing = {c.name: counts.get(c.name, 0) for c in checks}
    return {"checked": counts.get("checked", 0), "failing": failing,
            "shipped": counts.get("checked", 0) - sum(failing.values())}  # fmt: skip


def hygiene_report(
    audit: AuditResult, shipped: AuditResult, variants: list[str], settings: dict,
    checks: tuple[RowCheck, ...] = CHECKS,
) -> dict:  # fmt: skip
    total: Counter = Counter()
    for counts in audit.counts.values():
        total.update(counts)
    shipped_total: Counter = Counter()
    for counts in shipped.counts.values():
        shipped_total.update(counts)
    return {
        "step": STEP,
        "checks": [
            {"name": c.name, "description": c.description, "on_failure": "fail_run" if c.fatal else "drop"}
            for c in checks
        ],
        "variants": {v: _table(audit.counts.get(v, Counter()), checks) for v in variants},
        "total": _table(total, checks),
        "shipped_audit": _table(shipped_total, checks),
        "settings": settings,
    }


def hygiene_markdown(report: dict) -> list[str]:
    """The report as Markdown lines: one row per variant and the total, one column per check."""
    names = [c["name"] for c in report["checks"]]
    headers = [f"{c['name']} ({c['on_failure']})" for c in report["checks"]]
    lines = [
        "Rows checked and rows failing each check (a row counts under the first check it fails; "
        "fail_run checks stop the run, the others drop the row):",
        "",
        "| variant | checked | " + " | ".join(headers) + " | shipped |",
        "|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    tables = {**report["variants"], "total": report["total"]}
    for variant, t in tables.items():
        cells = " | ".join(str(t["failing"].get(n, 0)) for n in names)
        lines.append(f"| {variant} | {t['checked']} | {cells} | {t['shipped']} |")
    shipped = report["shipped_audit"]
    lines += ["", f"Written shards read back and audited again: {shipped['checked']} rows, "
              f"{shipped['checked'] - shipped['shipped']} failing."]  # fmt: skip
    return lines
