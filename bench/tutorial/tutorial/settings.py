"""Scrapy's project template settings, with the two pipelines of the tutorial."""

BOT_NAME = "tutorial"
SPIDER_MODULES = ["tutorial.spiders"]
NEWSPIDER_MODULE = "tutorial.spiders"

ROBOTSTXT_OBEY = True
ITEM_PIPELINES = {
    "tutorial.pipelines.TrafilaturaPipeline": 300,
    "tutorial.pipelines.SqlitePipeline": 800,
}
TUTORIAL_DB = "articles.db"
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
REMOTE_CONTROL_ENABLED = False  # no listening port beyond the crawl itself
