"""The attack suite: every route and form of the example site, found from the app itself."""
