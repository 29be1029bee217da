"""Crawling: the config, Scrapy settings, middlewares, item pipelines and the crawl runner."""
