"""Audit a website or an ad page: collect the pictures and videos its pages show.

Creatives are published on pages, not in zips. `crawl` reads the pages given (and, up to
`depth` links away, the pages they link to; only on the same site with `same_site`), and
yields every picture and video each page shows: ``img`` (``src``, ``srcset``: its largest
candidate, lazy-loading ``data-src``), ``picture``/``source``, ``video`` (``src``, its
``source``s, its ``poster``), ``og:image``/``og:video``/``twitter:image``, and CSS
backgrounds in ``style`` attributes and ``<style>`` elements (external stylesheets are not
read). A sitemap (``urlset``, or a ``sitemapindex`` of them) given as a start is followed: its
pages are read as if given. A start that is itself a picture or a video is yielded as it is.

HTML is parsed by selectolax (the Lexbor HTML5 parser), CSS by tinycss2, sitemaps by
defusedxml: never regular expressions over markup. Every request, page or robots.txt, goes
through `labelcheck.run.fetch` (the network rules, a size cap, a time limit); robots.txt is
honoured for pages and media (`urllib.robotparser`, labelcheck's user agent), and requests
to one host are at least `delay` seconds apart (longer when its robots.txt asks for it). The
media themselves are downloaded later, by the scan of each URL, in the guarded pool.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import urldefrag, urljoin, urlsplit

from labelcheck.core.settings import NetworkRules
from labelcheck.run.fetch import USER_AGENT, FetchError, Page, fetch

PAGE_BYTES = 8 * 2**20  # a page, a sitemap or a robots.txt larger than this is not read
MEDIA_TYPES = ("image/", "video/")
HTML_TYPES = ("text/html", "application/xhtml+xml")
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
META_MEDIA = ("og:image", "og:image:url", "og:image:secure_url", "og:video", "og:video:url",
              "og:video:secure_url", "twitter:image", "twitter:image:src")


@dataclass(frozen=True)
class Found:
    """A picture or video to scan (`url`) and the page it was found on (None: given as is)."""

    url: str
    page: str | None


@dataclass
class CrawlOptions:
    """How far a crawl goes: `depth` links from the pages given, `same_site` (follow links
    to the start's host only), at most `max_pages` pages, requests to one host `delay` s
    apart, and the `network` rules every request goes through."""

    depth: int = 0
    same_site: bool = False
    max_pages: int = 50
    delay: float = 1.0
    network: NetworkRules = field(default_factory=NetworkRules)
    timeout: float = 30.0


@dataclass
class CrawlLog:
    """What a crawl read and what it left out, and why (for people: stderr, the web page)."""

    pages: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class Politeness:
    """robots.txt per host (read once) and the time between requests to one host."""

    def __init__(self, options: CrawlOptions, get: Callable[[str], Page]):
        self.options = options
        self.get = get
        self.robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self.last: dict[str, float] = {}

    def allowed(self, url: str) -> bool:
        return self._robots(url).can_fetch(USER_AGENT, url)

    def fetch(self, url: str) -> Page:
        """`url`, no sooner than the delay after the last request to its host."""
        host = _origin(url)
        delay = max(self.options.delay, float(self._robots(url).crawl_delay(USER_AGENT) or 0))
        wait = self.last.get(host, -delay) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            return self.get(url)
        finally:
            self.last[host] = time.monotonic()

    def _robots(self, url: str) -> urllib.robotparser.RobotFileParser:
        origin = _origin(url)
        if origin not in self.robots:
            self.robots[origin] = parser = urllib.robotparser.RobotFileParser(
                origin + "/robots.txt")
            try:
                page = self.get(origin + "/robots.txt")
                self.last[origin] = time.monotonic()
                parser.parse(page.body.decode("utf-8", "replace").splitlines())
            except FetchError as exc:
                # As urllib.robotparser reads it: 401 and 403 forbid everything, any other
                # failure (404 above all) allows everything.
                parser.disallow_all = " 401 " in f" {exc} " or " 403 " in f" {exc} "
                parser.allow_all = not parser.disallow_all
        return self.robots[origin]


def crawl(starts: list[str], options: CrawlOptions, log: CrawlLog | None = None,
          get: Callable[[str], Page] | None = None) -> Iterator[Found]:
    """The pictures and videos the pages from `starts` show, each once, in the order found.
    `get` fetches a URL (default: `labelcheck.run.fetch.fetch` under `options.network`)."""
    log = log if log is not None else CrawlLog()
    get = get or (lambda url: fetch(url, options.network, PAGE_BYTES, options.timeout))
    polite = Politeness(options, get)
    queue = deque((url, 0, _host(url)) for url in starts)
    seen_pages, seen_media = set(starts), set()
    while queue and len(log.pages) < options.max_pages:
        url, level, site = queue.popleft()
        if not polite.allowed(url):
            log.skipped.append((url, "robots.txt does not allow it"))
            continue
        try:
            page = polite.fetch(url)
        except FetchError as exc:
            log.skipped.append((url, str(exc)))
            continue
        if page.content_type.startswith(MEDIA_TYPES):  # a start that is media itself
            if page.url not in seen_media:
                seen_media.add(page.url)
                yield Found(url, None)
            continue
        log.pages.append(page.url)
        if _is_sitemap(page):
            links, media = sitemap_locations(page.body), []
            level -= 1  # a sitemap's pages count as given
        elif page.content_type in HTML_TYPES:
            links, media = page_links(page.body, page.url)
        else:
            log.skipped.append((url, f"not a web page ({page.content_type})"))
            continue
        for found in media:
            if found in seen_media:
                continue
            seen_media.add(found)
            if polite.allowed(found):
                yield Found(found, page.url)
            else:
                log.skipped.append((found, "robots.txt does not allow it"))
        if level >= options.depth:
            continue
        for link in links:
            if link not in seen_pages and (not options.same_site or _host(link) == site):
                seen_pages.add(link)
                queue.append((link, level + 1, site))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _is_sitemap(page: Page) -> bool:
    if page.content_type not in ("application/xml", "text/xml") and \
            not urlsplit(page.url).path.endswith(".xml"):
        return False
    head = page.body[:4096]
    return b"<urlset" in head or b"<sitemapindex" in head


def sitemap_locations(body: bytes) -> list[str]:
    """The ``loc`` of every ``url`` (or nested sitemap) in a sitemap (defusedxml: a sitemap
    is XML from outside)."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except Exception:  # noqa: BLE001 - ParseError and defusedxml's refusals: no locations
        return []
    return [element.text.strip() for element in root.iter(f"{{{SITEMAP_NS}}}loc")
            if element.text and _is_http(element.text.strip())]


# -- what a page shows ----------------------------------------------------------------------

def page_links(html: bytes, url: str) -> tuple[list[str], list[str]]:
    """(pages it links to, pictures and videos it shows), absolute, without fragments, each
    once, in document order."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    base_node = tree.css_first("base[href]")
    base = urljoin(url, base_node.attributes.get("href") or "") if base_node else url
    media = []
    for node in tree.css("img, picture source, video, video source, audio source"):
        attributes = node.attributes
        if node.tag == "source" and (attributes.get("type") or "").startswith("audio"):
            continue
        media.extend(value for value in (attributes.get("src"), attributes.get("data-src"),
                                         attributes.get("poster")) if value)
        for name in ("srcset", "data-srcset"):
            if attributes.get(name):
                media.append(largest_candidate(attributes[name]))
    for node in tree.css("meta[property], meta[name]"):
        kind = (node.attributes.get("property") or node.attributes.get("name") or "").lower()
        if kind in META_MEDIA and node.attributes.get("content"):
            media.append(node.attributes["content"])
    for node in tree.css("[style]"):
        media.extend(css_urls(node.attributes.get("style") or "", declarations=True))
    for node in tree.css("style"):
        media.extend(css_urls(node.text() or "", declarations=False))
    links = [node.attributes.get("href") or "" for node in tree.css("a[href], area[href]")]
    return _absolute(links, base), _absolute(media, base)


def largest_candidate(srcset: str) -> str:
    """The candidate of a ``srcset`` with the largest width (``800w``) or density (``2x``)."""
    best, best_size = "", -1.0
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        descriptor = parts[1] if len(parts) > 1 else "1x"
        try:
            size = float(descriptor[:-1]) if descriptor[-1] in "wx" else 1.0
        except ValueError:
            size = 1.0
        if size > best_size:
            best, best_size = parts[0], size
    return best


def css_urls(text: str, declarations: bool) -> list[str]:
    """The ``url()`` values of background declarations in CSS (a ``style`` attribute's
    declarations, or a stylesheet's rules)."""
    import tinycss2

    if declarations:
        found = tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True)
    else:
        rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
        found = [item for rule in rules if rule.type == "qualified-rule"
                 for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                            skip_whitespace=True)]
    urls = []
    for declaration in found:
        if declaration.type == "declaration" and \
                declaration.lower_name in ("background", "background-image"):
            urls.extend(_token_urls(declaration.value))
    return urls


def _token_urls(tokens) -> list[str]:
    urls = []
    for token in tokens:
        if token.type == "url":
            urls.append(token.value)
        elif token.type == "function" and token.lower_name == "url":
            urls.extend(arg.value for arg in token.arguments if arg.type == "string")
        elif token.type == "function":  # image-set(), linear-gradient() ...
            urls.extend(_token_urls(token.arguments))
    return urls


def _absolute(values: list[str], base: str) -> list[str]:
    out = []
    for value in values:
        url = urldefrag(urljoin(base, value.strip()))[0]
        if _is_http(url) and url not in out:
            out.append(url)
    return out


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")
