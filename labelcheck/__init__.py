"""labelcheck: find AI-made images and videos whose AI disclosure has been stripped.

    >>> import labelcheck
    >>> report = labelcheck.scan("ad.jpg", policy="eu-ai-act")
    >>> report.verdict, [f.message for f in report.findings]
"""

from labelcheck.core.model import Finding, Kind, Report, Verdict
from labelcheck.core.scanner import scan
from labelcheck.core.settings import Settings
from labelcheck.version import __version__

__all__ = ["Finding", "Kind", "Report", "Settings", "Verdict", "scan", "__version__"]
