"""The bundled sample AI-news outlet: UTF-8 page sources under ``demo/site/`` served on
127.0.0.1 in the encodings real Chinese outlets use (GBK, GB18030, Big5, undeclared UTF-8),
with a listing page, an RSS feed, a sitemap, robots.txt and a second version for change tests.
"""

from newswatch.demo.config import demo_config
from newswatch.demo.server import DemoServer, serve_demo

__all__ = ["DemoServer", "demo_config", "serve_demo"]
