"""labelcheck: find AI-made images and videos whose AI disclosure has been stripped.

    >>> import labelcheck
    >>> report = labelcheck.scan("ad.jpg", policy="eu-ai-act")
    >>> report.verdict, [f.message for f in report.findings]
"""

__version__ = "0.1.0"

from labelcheck.core.model import Finding, Kind, Report, Verdict  # noqa: E402
from labelcheck.core.scanner import scan  # noqa: E402

__all__ = ["Finding", "Kind", "Report", "Verdict", "scan", "__version__"]
