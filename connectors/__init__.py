"""The Clever side: the Events and Data API client and the exactly-once poller."""
