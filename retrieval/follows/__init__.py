"""Follows: a topic in plain words that new articles are matched against, once per story
(`service.Follows`, reached as `NewsApp.follows`)."""
